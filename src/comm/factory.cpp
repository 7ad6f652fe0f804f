// Chooses the backend and the device of a rank's tensors (--comm.backend,
// --comm.device), refusing with one line on every rank what this build or this
// node cannot do. Every choice is made from facts agreed over the communicator, so
// all ranks take the same branch.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "comm/communicator.hpp"
#include "comm/device.hpp"
#include "core/error.hpp"
#include "core/ranks.hpp"

namespace tessera::comm {

namespace {

#ifdef TESSERA_HAVE_NCCL_BACKEND
constexpr bool kNcclBuilt = true;
#else
constexpr bool kNcclBuilt = false;
#endif

// What every rank of `comm` can count on: the fewest GPUs any rank sees, and
// whether every rank has a GPU of its own (NCCL's requirement): at least as many
// visible on its node as ranks there, or its own by CUDA_VISIBLE_DEVICES.
struct GpuFacts {
  int fewest_gpus = 0;
  bool one_per_rank = false;
  int local_rank = 0;
};

// Whether every rank on this node was given GPUs of its own: a scheduler sets
// CUDA_VISIBLE_DEVICES differently for each (Slurm's --gpus-per-task), and each then
// sees only its own GPU.
bool own_gpus_per_rank(MPI_Comm comm) {
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::uint64_t mine = visible && *visible ? std::hash<std::string>{}(visible) | 1 : 0;
  MPI_Comm node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  std::vector<std::uint64_t> all(size_of(node));
  MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, node);
  MPI_Comm_free(&node);
  std::sort(all.begin(), all.end());
  return all.front() != 0 && std::adjacent_find(all.begin(), all.end()) == all.end();
}

GpuFacts gpu_facts(MPI_Comm comm) {
  const int visible = visible_gpus();
  const auto place = node_place(comm);
  const bool own = visible >= place.size || (visible >= 1 && own_gpus_per_rank(comm));
  int facts[2] = {visible, own ? 1 : 0};
  MPI_Allreduce(MPI_IN_PLACE, facts, 2, MPI_INT, MPI_MIN, comm);
  return {facts[0], facts[1] == 1, place.rank};
}

}  // namespace

std::unique_ptr<Communicator> make_communicator(const std::string& backend, const std::string& device,
                                                MPI_Comm comm) {
  const auto gpus = gpu_facts(comm);
  // auto: the GPU for NCCL, or when every rank sees one.
  const std::string wanted =
      device != "auto" ? device : (backend == "nccl" || gpus.fewest_gpus > 0 ? "cuda" : "cpu");
  const auto placed = agree(comm, [&] {
    TESSERA_REQUIRE(backend == "mpi" || backend == "nccl" || backend == "auto",
                    "--comm.backend: must be mpi, nccl or auto, got '", backend, "'");
    TESSERA_REQUIRE(device == "cpu" || device == "cuda" || device == "auto",
                    "--comm.device: must be cpu, cuda or auto, got '", device, "'");
    TESSERA_REQUIRE(device != "cpu" || backend != "nccl",
                    "--comm.backend=nccl keeps tensors on the GPU: drop --comm.device=cpu");
    if (backend == "nccl") {
      TESSERA_REQUIRE(kNcclBuilt, "--comm.backend=nccl: this build has no NCCL backend (it needs a CUDA LibTorch "
                                  "and NCCL: build with cmake/build-cuda.sh)");
      TESSERA_REQUIRE(gpus.fewest_gpus > 0, "--comm.backend=nccl: no GPU is visible to this process");
      TESSERA_REQUIRE(gpus.one_per_rank, "--comm.backend=nccl: more ranks than GPUs on a node, and NCCL needs one GPU "
                                         "per rank (share a GPU with --comm.backend=mpi --comm.device=cuda)");
    }
    return require_device("--comm.device", wanted, gpus.local_rank);
  });
#ifdef TESSERA_HAVE_NCCL_BACKEND
  if (backend == "nccl" || (backend == "auto" && placed.is_cuda() && gpus.one_per_rank))
    return agree(comm, [&] { return make_nccl_communicator(comm); });
#endif
  return make_mpi_communicator(comm, placed);
}

}  // namespace tessera::comm
