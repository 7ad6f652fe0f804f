// The NCCL backend: CUDA tensors on cuda:<local rank>. Rank 0 creates the NCCL
// unique id and broadcasts it over MPI. Operations are issued on CUDA's legacy
// default stream, the one LibTorch's kernels use unless told otherwise, so they
// are ordered after the kernels that produced their inputs without extra syncs.
//
// This file is compiled whenever NCCL and the CUDA runtime headers are found (so
// it never rots on machines without a GPU) and linked only into a CUDA LibTorch build.
#include <cuda_runtime.h>
#include <nccl.h>

#include <numeric>

#include "comm/communicator.hpp"
#include "core/ranks.hpp"
#include "core/error.hpp"

namespace tessera::comm {

namespace {

void check_cuda(cudaError_t code, const char* what, const char* file, int line) {
  if (code != cudaSuccess)
    throw std::runtime_error(detail::concat(where(file, line), ": ", what, ": ", cudaGetErrorString(code)));
}
void check_nccl(ncclResult_t code, const char* what, const char* file, int line) {
  if (code != ncclSuccess)
    throw std::runtime_error(detail::concat(where(file, line), ": ", what, ": ", ncclGetErrorString(code)));
}
#define CUDA_CHECK(call) check_cuda((call), #call, __FILE__, __LINE__)
#define NCCL_CHECK(call) check_nccl((call), #call, __FILE__, __LINE__)

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kInt64: return ncclInt64;
    case torch::kInt32: return ncclInt32;
    case torch::kUInt8: return ncclUint8;
    default: TESSERA_ASSERT(false, "no NCCL type for ", t.scalar_type());
  }
  return ncclFloat32;
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(MPI_Comm comm) : Communicator(comm) {
    int gpus = 0;
    CUDA_CHECK(cudaGetDeviceCount(&gpus));
    TESSERA_REQUIRE(gpus > 0, "--comm.backend=nccl: no GPU visible on this node");
    gpu_ = node_place(comm).rank % gpus;
    CUDA_CHECK(cudaSetDevice(gpu_));
    ncclUniqueId id;
    if (rank_ == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm);
    NCCL_CHECK(ncclCommInitRank(&nccl_, size_, id, rank_));
  }
  ~NcclCommunicator() override {
    if (nccl_) ncclCommDestroy(nccl_);
  }

  std::string backend() const override { return "nccl"; }
  torch::Device device() const override { return torch::Device(torch::kCUDA, gpu_); }

  void all_reduce_sum(torch::Tensor& tensor) override {
    require_on_gpu(tensor);
    NCCL_CHECK(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), nccl_type(tensor), ncclSum,
                             nccl_, stream()));
  }

  // NCCL's collectives take equal counts: uneven parts are padded to the longest.
  torch::Tensor all_gather(const torch::Tensor& part, const std::vector<std::int64_t>& lengths) override {
    require_on_gpu(part);
    const auto longest = *std::max_element(lengths.begin(), lengths.end());
    auto padded = pad_rows(part.contiguous(), longest);
    auto shape = padded.sizes().vec();
    shape[0] = longest * size_;
    auto gathered = torch::empty(shape, padded.options());
    NCCL_CHECK(ncclAllGather(padded.data_ptr(), gathered.data_ptr(), padded.numel(), nccl_type(padded), nccl_,
                             stream()));
    std::vector<torch::Tensor> parts;
    for (int r = 0; r < size_; ++r) parts.push_back(gathered.narrow(0, r * longest, lengths[r]));
    return torch::cat(parts);
  }

  torch::Tensor reduce_scatter_sum(const torch::Tensor& whole, const std::vector<std::int64_t>& lengths) override {
    require_on_gpu(whole);
    const auto longest = *std::max_element(lengths.begin(), lengths.end());
    auto src = whole.contiguous();
    std::vector<torch::Tensor> parts;
    for (int r = 0, at = 0; r < size_; at += lengths[r], ++r) parts.push_back(pad_rows(src.narrow(0, at, lengths[r]), longest));
    auto stacked = torch::cat(parts);
    auto shape = stacked.sizes().vec();
    shape[0] = longest;
    auto mine = torch::empty(shape, stacked.options());
    NCCL_CHECK(ncclReduceScatter(stacked.data_ptr(), mine.data_ptr(), mine.numel(), nccl_type(mine), ncclSum, nccl_,
                                 stream()));
    return mine.narrow(0, 0, lengths[rank_]);
  }

  void broadcast(torch::Tensor& tensor, int root) override {
    require_on_gpu(tensor);
    NCCL_CHECK(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), nccl_type(tensor), root, nccl_,
                             stream()));
  }

  void send(const torch::Tensor& tensor, int peer) override {
    auto src = tensor.contiguous();
    require_on_gpu(src);
    NCCL_CHECK(ncclSend(src.data_ptr(), src.numel(), nccl_type(src), peer, nccl_, stream()));
    CUDA_CHECK(cudaStreamSynchronize(stream()));  // `src` may be a temporary
  }

  void recv(torch::Tensor& tensor, int peer) override {
    require_on_gpu(tensor);
    NCCL_CHECK(ncclRecv(tensor.data_ptr(), tensor.numel(), nccl_type(tensor), peer, nccl_, stream()));
  }

  void barrier() override {
    CUDA_CHECK(cudaStreamSynchronize(stream()));
    MPI_Barrier(mpi_);
  }

 private:
  static cudaStream_t stream() { return cudaStreamLegacy; }
  void require_on_gpu(const torch::Tensor& t) const {
    TESSERA_ASSERT(t.is_cuda() && t.is_contiguous(), "NCCL backend needs contiguous CUDA tensors");
  }
  static torch::Tensor pad_rows(const torch::Tensor& t, std::int64_t rows) {
    if (t.size(0) == rows) return t;
    auto shape = t.sizes().vec();
    shape[0] = rows;
    auto padded = torch::zeros(shape, t.options());
    padded.narrow(0, 0, t.size(0)).copy_(t);
    return padded;
  }

  int gpu_ = 0;
  ncclComm_t nccl_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm) {
  return std::make_unique<NcclCommunicator>(comm);
}

}  // namespace tessera::comm
