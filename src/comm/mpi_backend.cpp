// The MPI backend: contiguous CPU buffers handed to MPI directly. Tensors kept on a
// GPU (--comm.device=cuda) travel through host memory: the Open MPI tessera builds
// with is not CUDA-aware, and staging is what lets several ranks share one GPU,
// which NCCL refuses.
#include <numeric>

#include "comm/communicator.hpp"
#include "core/ranks.hpp"
#include "core/error.hpp"

namespace tessera::comm {

Communicator::Communicator(MPI_Comm comm) : mpi_(comm), rank_(rank_of(comm)), size_(size_of(comm)) {}

std::vector<std::int64_t> balanced_lengths(std::int64_t count, int ranks) {
  std::vector<std::int64_t> lengths(ranks);
  for (int r = 0; r < ranks; ++r) lengths[r] = count * (r + 1) / ranks - count * r / ranks;
  return lengths;
}

namespace {

// Elements per row (dimension 0). From the shape, not numel() / rows: a rank whose
// slice has no rows must still count the same row size as the others, or the ranks'
// counts disagree and the collective never completes.
std::int64_t row_elements(const torch::Tensor& t) {
  std::int64_t n = 1;
  for (std::int64_t d = 1; d < t.dim(); ++d) n *= t.size(d);
  return n;
}

MPI_Datatype mpi_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kInt32: return MPI_INT32_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default: TESSERA_ASSERT(false, "no MPI type for ", t.scalar_type());
  }
  return MPI_DATATYPE_NULL;
}

int as_count(std::int64_t n) {
  // MPI counts are int: one message of more than 2^31 elements needs splitting.
  TESSERA_ASSERT(n <= std::numeric_limits<int>::max(), "message of ", n, " elements exceeds MPI's int count");
  return static_cast<int>(n);
}

void check(int code, const char* what) {
  TESSERA_ASSERT(code == MPI_SUCCESS, "MPI call failed: ", what);
}

// A contiguous host copy of `t`, or `t` itself when it already is one.
torch::Tensor on_host(const torch::Tensor& t) { return t.is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous(); }

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, torch::Device device) : Communicator(comm), device_(device) {}
  std::string backend() const override { return "mpi"; }
  torch::Device device() const override { return device_; }

  void all_reduce_sum(torch::Tensor& tensor) override {
    TESSERA_ASSERT(tensor.is_contiguous());
    if (size_ == 1) return;
    auto buffer = on_host(tensor);
    check(MPI_Allreduce(MPI_IN_PLACE, buffer.data_ptr(), as_count(buffer.numel()), mpi_type(buffer), MPI_SUM, mpi_),
          "MPI_Allreduce");
    if (!tensor.is_cpu()) tensor.copy_(buffer);
  }

  torch::Tensor all_gather(const torch::Tensor& part, const std::vector<std::int64_t>& lengths) override {
    TESSERA_ASSERT(static_cast<int>(lengths.size()) == size_ && part.size(0) == lengths[rank_]);
    if (size_ == 1) return part;
    auto src = on_host(part);
    auto shape = src.sizes().vec();
    const std::int64_t row = row_elements(src);
    shape[0] = std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0});
    auto whole = torch::empty(shape, src.options());
    std::vector<int> counts(size_), displs(size_);
    for (int r = 0, at = 0; r < size_; ++r) {
      counts[r] = as_count(lengths[r] * row);
      displs[r] = at;
      at += counts[r];
    }
    check(MPI_Allgatherv(src.data_ptr(), counts[rank_], mpi_type(src), whole.data_ptr(), counts.data(),
                         displs.data(), mpi_type(src), mpi_),
          "MPI_Allgatherv");
    return whole.to(part.device());
  }

  torch::Tensor reduce_scatter_sum(const torch::Tensor& whole, const std::vector<std::int64_t>& lengths) override {
    TESSERA_ASSERT(static_cast<int>(lengths.size()) == size_);
    if (size_ == 1) return whole.contiguous();
    auto src = on_host(whole);
    const std::int64_t row = row_elements(src);
    auto shape = src.sizes().vec();
    shape[0] = lengths[rank_];
    auto mine = torch::empty(shape, src.options());
    std::vector<int> counts(size_);
    for (int r = 0; r < size_; ++r) counts[r] = as_count(lengths[r] * row);
    check(MPI_Reduce_scatter(src.data_ptr(), mine.data_ptr(), counts.data(), mpi_type(src), MPI_SUM, mpi_),
          "MPI_Reduce_scatter");
    return mine.to(whole.device());
  }

  void broadcast(torch::Tensor& tensor, int root) override {
    TESSERA_ASSERT(tensor.is_contiguous());
    auto buffer = on_host(tensor);
    check(MPI_Bcast(buffer.data_ptr(), as_count(buffer.numel()), mpi_type(buffer), root, mpi_), "MPI_Bcast");
    if (!tensor.is_cpu()) tensor.copy_(buffer);
  }

  void send(const torch::Tensor& tensor, int peer) override {
    auto src = on_host(tensor);
    check(MPI_Send(src.data_ptr(), as_count(src.numel()), mpi_type(src), peer, 0, mpi_), "MPI_Send");
  }

  void recv(torch::Tensor& tensor, int peer) override {
    TESSERA_ASSERT(tensor.is_contiguous());
    auto buffer = tensor.is_cpu() ? tensor : torch::empty(tensor.sizes(), tensor.options().device(torch::kCPU));
    check(MPI_Recv(buffer.data_ptr(), as_count(buffer.numel()), mpi_type(buffer), peer, 0, mpi_, MPI_STATUS_IGNORE),
          "MPI_Recv");
    if (!tensor.is_cpu()) tensor.copy_(buffer);
  }

  void barrier() override { check(MPI_Barrier(mpi_), "MPI_Barrier"); }

 private:
  torch::Device device_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm, torch::Device device) {
  return std::make_unique<MpiCommunicator>(comm, device);
}

}  // namespace tessera::comm
