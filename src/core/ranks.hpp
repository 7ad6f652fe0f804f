// Small conveniences over an MPI communicator: ranks, sizes, shares (the
// communicators themselves, MPI and NCCL, are in comm/).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace tessera {

inline int rank_of(MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  return rank;
}

inline int size_of(MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  return size;
}

// This rank's position among the ranks on its node, and how many they are.
struct NodePlace {
  int rank = 0, size = 1;
};
inline NodePlace node_place(MPI_Comm comm) {
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  NodePlace place{rank_of(node), size_of(node)};
  MPI_Comm_free(&node);
  return place;
}

// [begin, end) of this rank's contiguous, balanced share of `count` items.
inline std::pair<std::int64_t, std::int64_t> my_share(std::int64_t count, MPI_Comm comm) {
  const std::int64_t ranks = size_of(comm), rank = rank_of(comm);
  return {count * rank / ranks, count * (rank + 1) / ranks};
}

// Every rank of `comm` gets rank 0's `values` (resized to fit).
template <class T>
void share_vector(std::vector<T>& values, MPI_Datatype type, MPI_Comm comm) {
  auto n = static_cast<std::int64_t>(values.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, comm);
  values.resize(n);
  MPI_Bcast(values.data(), static_cast<int>(n), type, 0, comm);
}

}  // namespace tessera
