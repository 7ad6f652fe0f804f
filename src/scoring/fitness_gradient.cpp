// The differentiable side of the adversary's scoring engine: the loss of a placement
// as a function of the target layer's weight, and its gradient. The searches that
// linearise the loss (docs/DESIGN.md section 8) read the gradient block by block.
#include "scoring/fitness.hpp"

#include "blocks/grid.hpp"
#include "core/error.hpp"

namespace tessera::scoring {

torch::Tensor Fitness::weight_from_blocks(const torch::Tensor& blocks) const {
  return blocks.view({grid_.rows, grid_.cols, grid_.bh, grid_.bw}).permute({0, 2, 1, 3}).reshape({grid_.out, grid_.in});
}

torch::Tensor Fitness::weight_of(const blocks::Genome& genome) const {
  TESSERA_ASSERT(genome.empty() || static_cast<std::int64_t>(genome.size()) == grid_.count());
  if (genome.empty()) return blocks::place_blocks(grid_, knowledge_.held.narrow(0, 0, 0), {});
  return blocks::place_blocks(grid_, knowledge_.held, std::vector<std::int64_t>(genome.begin(), genome.begin() + held_));
}

torch::Tensor Fitness::loss_at(const torch::Tensor& weight) const {
  torch::AutoGradMode enabled(true);
  const auto& k = on_device_;
  auto logits = k.layer.after_layer(torch::addmm(k.layer.bias, k.features, weight.t()));
  const auto& targets = kind_ == FitnessKind::fidelity ? k.victim_predictions : k.labels;
  return torch::nn::functional::cross_entropy(logits, targets);
}

torch::Tensor Fitness::loss_gradient(const blocks::Genome& genome) const {
  torch::AutoGradMode enabled(true);
  auto weight = weight_of(genome).to(device()).requires_grad_(true);
  return torch::autograd::grad({loss_at(weight)}, {weight})[0].detach().to(torch::kCPU);
}

torch::Tensor Fitness::placement_costs(const torch::Tensor& gradient) const {
  torch::NoGradGuard no_grad;
  const std::int64_t R = grid_.rows, C = grid_.cols, bh = grid_.bh, bw = grid_.bw;
  auto per_position = gradient.reshape({R, bh, C, bw}).permute({0, 2, 1, 3}).reshape({R * C, bh * bw});
  return torch::mm(knowledge_.held.reshape({held_, bh * bw}), per_position.t()).to(torch::kDouble).contiguous();
}

}  // namespace tessera::scoring
