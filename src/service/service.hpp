// The S0 system: a model served by MPI ranks that host simulated devices.
//
// Logically, every block of a target layer sits on a device, and every other layer
// is one device (docs/DESIGN.md section 2). Physically, each rank runs all its devices'
// block products together, and exchanges aggregated partial sums:
//  * the layers that are not cut into blocks run data-parallel: each rank takes a
//    slice of the batch, and their gradients are summed over the ranks;
//  * a target layer gathers its input over the whole batch, multiplies it by the
//    rank's blocks only, and reduce-scatters the partial sums back to the slices
//    (gather_batch / reduce_scatter_batch), so forward and backward equal the
//    monolithic layer's to float round-off.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "blocks/targets.hpp"
#include "comm/communicator.hpp"
#include "models/registry.hpp"
#include "service/cover_traffic.hpp"
#include "service/sharded_linear.hpp"

namespace tessera::h5 {
class Group;
}

namespace tessera::service {

// One forward pass over a batch split in slices along the ranks.
struct Pass {
  std::vector<std::int64_t> lengths;  // batch rows of every rank
  bool training = false;              // dropout on, with masks seeded by (seed, step)
  std::int64_t step = 0;
};

class Service {
 public:
  // `network` holds the full weights; the service keeps only this rank's blocks of
  // the target layers (the full target weights are released).
  Service(std::shared_ptr<models::Network> network, std::vector<blocks::Target> targets, comm::Communicator& comm,
          std::uint64_t seed);

  // This rank's slice of the batch (lengths[rank] rows) -> its slice of the logits.
  torch::Tensor forward(const torch::Tensor& slice, const Pass& pass);

  std::vector<torch::Tensor> parameters() const;  // replicated ones, then the blocks
  void sum_replicated_gradients();
  // Every parameter (or its gradient) by state_dict name, target weights
  // reassembled from the ranks' blocks (collective). On CPU.
  std::map<std::string, torch::Tensor> assembled_parameters(bool gradients = false);

  const std::vector<blocks::Target>& targets() const { return targets_; }
  comm::Communicator& communicator() const { return comm_; }
  void train(bool on) { network_->train(on); }
  // Cover traffic sent after every pass (serve --serve.obfuscation); none by default.
  void set_cover(CoverTraffic* cover) { cover_ = cover; }
  CoverTraffic* cover() const { return cover_; }

 private:
  torch::Tensor dropout(const torch::Tensor& x, double p, std::size_t step_index, const Pass& pass) const;

  std::shared_ptr<models::Network> network_;
  std::vector<blocks::Target> targets_;
  std::vector<std::unique_ptr<ShardedLinear>> sharded_;  // one per target
  std::map<std::size_t, std::size_t> target_at_step_;
  std::vector<std::pair<std::string, torch::Tensor>> replicated_;
  comm::Communicator& comm_;
  std::uint64_t seed_;
  CoverTraffic* cover_ = nullptr;
};

// The split of `count` rows this service's ranks use.
std::vector<std::int64_t> batch_split(std::int64_t count, const comm::Communicator& comm);
std::int64_t offset_of(const std::vector<std::int64_t>& lengths, int rank);

}  // namespace tessera::service
