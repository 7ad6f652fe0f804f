#include "service/service.hpp"

#include <algorithm>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/h5.hpp"
#include "service/batch_regions.hpp"

namespace tessera::service {

std::vector<std::int64_t> batch_split(std::int64_t count, const comm::Communicator& comm) {
  return comm::balanced_lengths(count, comm.size());
}

std::int64_t offset_of(const std::vector<std::int64_t>& lengths, int rank) {
  return std::accumulate(lengths.begin(), lengths.begin() + rank, std::int64_t{0});
}

Service::Service(std::shared_ptr<models::Network> network, std::vector<blocks::Target> targets, comm::Communicator& comm,
                 std::uint64_t seed)
    : network_(std::move(network)), targets_(std::move(targets)), comm_(comm), seed_(seed) {
  network_->to(comm.device());
  const auto& steps = network_->steps();
  std::set<std::string> target_weights;
  for (std::size_t t = 0; t < targets_.size(); ++t) {
    const auto& target = targets_[t];
    auto linear = steps[target.step].linear;
    std::vector<std::int64_t> held;
    const auto& devices = target.placement.device_of_block;
    for (std::int64_t b = 0; b < static_cast<std::int64_t>(devices.size()); ++b)
      if (target.placement.rank_of_device[devices[b]] == comm.rank()) held.push_back(b);
    sharded_.push_back(std::make_unique<ShardedLinear>(linear->weight.detach(), target.grid, held, comm.device()));
    target_at_step_[target.step] = t;
    target_weights.insert(target.layer + ".weight");
    // This rank keeps only its devices' blocks.
    torch::NoGradGuard no_grad;
    linear->weight.set_data(torch::empty({0}, linear->weight.options()));
  }
  for (const auto& item : network_->named_parameters())
    if (!target_weights.count(item.key())) replicated_.emplace_back(item.key(), item.value());
}

torch::Tensor Service::dropout(const torch::Tensor& x, double p, std::size_t step_index, const Pass& pass) const {
  // The mask is drawn for the whole batch and sliced, so it does not depend on how
  // the batch is split over ranks.
  auto shape = x.sizes().vec();
  shape[0] = std::accumulate(pass.lengths.begin(), pass.lengths.end(), std::int64_t{0});
  auto generator = at::detail::createCPUGenerator(
      derive_seed(seed_, "dropout", static_cast<std::uint64_t>(pass.step) * 1024 + step_index));
  auto keep = torch::empty(shape).bernoulli_(1.0 - p, generator);
  keep = keep.narrow(0, offset_of(pass.lengths, comm_.rank()), x.size(0)).to(x.device());
  return x * keep / (1.0 - p);
}

torch::Tensor Service::forward(const torch::Tensor& slice, const Pass& pass) {
  TESSERA_ASSERT(static_cast<int>(pass.lengths.size()) == comm_.size() && slice.size(0) == pass.lengths[comm_.rank()]);
  const auto& steps = network_->steps();
  auto x = slice.to(comm_.device());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& step = steps[i];
    auto target = target_at_step_.find(i);
    if (target != target_at_step_.end()) {
      auto whole = gather_batch(x, comm_, pass.lengths);
      auto partial = sharded_[target->second]->partial_forward(whole);
      x = reduce_scatter_batch(partial, comm_, pass.lengths);
      if (step.linear->bias.defined()) x = x + step.linear->bias;
    } else if (step.dropout > 0) {
      x = pass.training ? dropout(x, step.dropout, i, pass) : x;
    } else {
      x = step.apply(x);
    }
  }
  return x;
}

std::vector<torch::Tensor> Service::parameters() const {
  std::vector<torch::Tensor> params;
  for (const auto& item : replicated_) params.push_back(item.second);
  for (const auto& sharded : sharded_)
    for (const auto& p : sharded->parameters()) params.push_back(p);
  return params;
}

void Service::sum_replicated_gradients() {
  if (comm_.size() == 1) return;
  std::vector<torch::Tensor> grads;
  for (const auto& item : replicated_) {
    const auto& grad = item.second.grad();
    grads.push_back(grad.defined() ? grad.reshape(-1) : torch::zeros({item.second.numel()}, item.second.options()));
  }
  auto flat = torch::cat(grads);
  comm_.all_reduce_sum(flat);
  std::int64_t offset = 0;
  for (auto& item : replicated_) {
    auto n = item.second.numel();
    item.second.mutable_grad() = flat.narrow(0, offset, n).view_as(item.second).clone();
    offset += n;
  }
}

std::map<std::string, torch::Tensor> Service::assembled_parameters(bool gradients) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : replicated_) {
    const auto& source = gradients ? item.second.grad() : item.second;
    params[item.first] = source.defined() ? source.detach().to(torch::kCPU).clone()
                                          : torch::zeros(item.second.sizes(), item.second.options().device(torch::kCPU));
  }
  for (std::size_t t = 0; t < targets_.size(); ++t) {
    const auto& grid = targets_[t].grid;
    auto full = torch::zeros({grid.out, grid.in}, torch::TensorOptions().device(comm_.device()));
    sharded_[t]->add_into(full, gradients);
    comm_.all_reduce_sum(full);
    params[targets_[t].layer + ".weight"] = full.to(torch::kCPU);
  }
  return params;
}

}  // namespace tessera::service
