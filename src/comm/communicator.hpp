// Collective communication over the ranks of one MPI communicator, on tensors.
// Two backends behind one interface: MPI (always built; CPU tensors, or CUDA
// tensors staged through host memory) and NCCL (CUDA tensors, one GPU per rank;
// linked when LibTorch has CUDA and NCCL is found). Library code takes
// a Communicator&, never MPI_COMM_WORLD.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tessera::comm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::string backend() const = 0;
  virtual torch::Device device() const = 0;  // where this rank's tensors live
  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm mpi() const { return mpi_; }

  // In place: every rank ends with the element-wise sum.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;
  // Concatenates along dim 0 the `part` of every rank; parts may differ in
  // length along dim 0 (the other dims must agree), `lengths[r]` gives rank r's.
  virtual torch::Tensor all_gather(const torch::Tensor& part, const std::vector<std::int64_t>& lengths) = 0;
  // Sums `whole` over the ranks and returns this rank's rows along dim 0:
  // rows [offset(r), offset(r) + lengths[r]).
  virtual torch::Tensor reduce_scatter_sum(const torch::Tensor& whole, const std::vector<std::int64_t>& lengths) = 0;
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  virtual void send(const torch::Tensor& tensor, int peer) = 0;
  virtual void recv(torch::Tensor& tensor, int peer) = 0;
  virtual void barrier() = 0;

 protected:
  explicit Communicator(MPI_Comm comm);
  MPI_Comm mpi_;
  int rank_ = 0, size_ = 1;
};

// backend: "mpi", "nccl" or "auto"; device: "cpu", "cuda" or "auto". auto puts
// tensors on a GPU when every rank sees one, and uses NCCL when this build has it
// and every rank has a GPU of its own; else MPI. Collective over `comm`; errors
// name --comm.backend or --comm.device.
std::unique_ptr<Communicator> make_communicator(const std::string& backend, const std::string& device,
                                                MPI_Comm comm);

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm, torch::Device device = torch::kCPU);
#ifdef TESSERA_HAVE_NCCL_BACKEND
std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm);
#endif

// The balanced split of `count` rows over `ranks` (the first ones get the extra).
std::vector<std::int64_t> balanced_lengths(std::int64_t count, int ranks);

}  // namespace tessera::comm
