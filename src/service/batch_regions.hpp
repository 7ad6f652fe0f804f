// Communication regions as paired autograd functions (after Megatron-LM's tensor
// parallel mappings). Each rank holds a slice of the batch (rows along dim 0):
//   gather_batch:      forward all-gathers the slices into the whole batch;
//                      backward sums the whole-batch gradient over the ranks and
//                      keeps this rank's rows (reduce-scatter).
//   reduce_scatter_batch: forward sums whole-batch partial results over the ranks
//                      and keeps this rank's rows; backward all-gathers.
// A block-sharded layer is gather_batch -> local block products -> reduce_scatter_batch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "comm/communicator.hpp"

namespace tessera::service {

torch::Tensor gather_batch(const torch::Tensor& slice, comm::Communicator& comm,
                           const std::vector<std::int64_t>& lengths);
torch::Tensor reduce_scatter_batch(const torch::Tensor& whole, comm::Communicator& comm,
                                   const std::vector<std::int64_t>& lengths);

}  // namespace tessera::service
