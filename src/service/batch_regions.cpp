#include "service/batch_regions.hpp"

namespace tessera::service {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The communicator and the row split travel through the context; autograd
// functions are stateless.
struct Region {
  comm::Communicator* comm;
  std::vector<std::int64_t> lengths;
};

void remember(AutogradContext* ctx, comm::Communicator& comm, const std::vector<std::int64_t>& lengths) {
  ctx->saved_data["comm"] = reinterpret_cast<std::int64_t>(&comm);
  ctx->saved_data["lengths"] = lengths;
}

Region recall(AutogradContext* ctx) {
  return {reinterpret_cast<comm::Communicator*>(ctx->saved_data["comm"].toInt()),
          ctx->saved_data["lengths"].toIntVector()};
}

struct GatherBatch : torch::autograd::Function<GatherBatch> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& slice, comm::Communicator* comm,
                               std::vector<std::int64_t> lengths) {
    remember(ctx, *comm, lengths);
    return comm->all_gather(slice.contiguous(), lengths);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto region = recall(ctx);
    return {region.comm->reduce_scatter_sum(grads[0].contiguous(), region.lengths), torch::Tensor(),
            torch::Tensor()};
  }
};

struct ReduceScatterBatch : torch::autograd::Function<ReduceScatterBatch> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& whole, comm::Communicator* comm,
                               std::vector<std::int64_t> lengths) {
    remember(ctx, *comm, lengths);
    return comm->reduce_scatter_sum(whole.contiguous(), lengths);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto region = recall(ctx);
    return {region.comm->all_gather(grads[0].contiguous(), region.lengths), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor gather_batch(const torch::Tensor& slice, comm::Communicator& comm,
                           const std::vector<std::int64_t>& lengths) {
  if (comm.size() == 1) return slice;  // one rank: the identity, no region needed
  return GatherBatch::apply(slice, &comm, lengths);
}

torch::Tensor reduce_scatter_batch(const torch::Tensor& whole, comm::Communicator& comm,
                                   const std::vector<std::int64_t>& lengths) {
  if (comm.size() == 1) return whole;
  return ReduceScatterBatch::apply(whole, &comm, lengths);
}

}  // namespace tessera::service
