#include "models/target_layer.hpp"

#include "core/error.hpp"

namespace tessera::models {

namespace {
constexpr std::int64_t kChunk = 1000;  // images per forward pass while computing features
}

TargetLayer split_at(Network& network, const std::string& layer) {
  network.eval();
  const auto& steps = network.steps();
  std::size_t target = 0;
  while (target < steps.size() && steps[target].name != layer) ++target;
  TESSERA_REQUIRE(target < steps.size() && steps[target].linear, "--blocks.layers: '", layer,
                  "' is not a Linear layer of the model");
  TargetLayer split;
  const auto& linear = steps[target].linear;
  split.weight = linear->weight.detach().contiguous();
  split.bias = linear->bias.defined() ? linear->bias.detach() : torch::zeros({split.weight.size(0)});
  split.before.assign(steps.begin(), steps.begin() + target);
  split.after.assign(steps.begin() + target + 1, steps.end());
  for (const auto& step : split.after)
    if (step.linear) split.after_flops_per_image += 2.0 * step.linear->weight.numel();
  return split;
}

TargetLayer TargetLayer::on_device(torch::Device device) const {
  TargetLayer copy;
  copy.weight = weight.defined() ? weight.to(device) : weight;
  copy.bias = bias.to(device);
  copy.after_flops_per_image = after_flops_per_image;
  for (const auto& step : after) {
    Step moved;
    moved.name = step.name;
    moved.relu = step.relu;
    if (step.linear) {
      const auto w = step.linear->weight.detach().to(device);
      const auto b = step.linear->bias.defined() ? step.linear->bias.detach().to(device) : torch::Tensor();
      moved.apply = [w, b](const torch::Tensor& x) { return b.defined() ? torch::addmm(b, x, w.t()) : x.mm(w.t()); };
    } else if (step.relu) {
      moved.apply = [](const torch::Tensor& x) { return torch::relu(x); };
    } else {
      TESSERA_ASSERT(step.dropout > 0, "step '", step.name, "' after the target layer has no device copy");
      moved.apply = [](const torch::Tensor& x) { return x; };  // eval mode
    }
    copy.after.push_back(std::move(moved));
  }
  return copy;
}

torch::Tensor TargetLayer::features(const torch::Tensor& images) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> chunks;
  for (std::int64_t begin = 0; begin < images.size(0); begin += kChunk) {
    auto x = images.narrow(0, begin, std::min(kChunk, images.size(0) - begin));
    for (const auto& step : before) x = step.apply(x);
    chunks.push_back(x);
  }
  return torch::cat(chunks).contiguous();
}

torch::Tensor TargetLayer::after_layer(torch::Tensor x, bool overwrite_input, std::size_t first_step) const {
  // In place only without gradients: it saves a pass over P*E rows per call.
  const bool in_place = !torch::GradMode::is_enabled();
  bool owned = in_place && overwrite_input;
  for (std::size_t s = first_step; s < after.size(); ++s) {
    const auto& step = after[s];
    if (step.relu && owned) {
      x.relu_();
    } else {
      x = step.relu ? torch::relu(x) : step.apply(x);
      owned = in_place;
    }
  }
  return x;
}

}  // namespace tessera::models
