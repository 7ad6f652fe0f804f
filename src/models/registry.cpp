#include "models/registry.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::models {

void Network::add_steps(const std::string& prefix, torch::nn::Sequential& sequence) {
  std::size_t index = 0;
  for (auto& child : *sequence) {
    Step step;
    step.name = prefix + "." + std::to_string(index++);
    auto module = child.ptr();
    step.apply = [child](const torch::Tensor& x) mutable { return child.forward(x); };
    if (auto linear = std::dynamic_pointer_cast<torch::nn::LinearImpl>(module))
      step.linear = torch::nn::Linear(linear);
    if (auto dropout = std::dynamic_pointer_cast<torch::nn::DropoutImpl>(module))
      step.dropout = dropout->options.p();
    step.relu = static_cast<bool>(std::dynamic_pointer_cast<torch::nn::ReLUImpl>(module));
    step.has_parameters = !module->parameters(/*recurse=*/false).empty();
    steps_.push_back(std::move(step));
  }
}

void Network::add_function(const std::string& name, std::function<torch::Tensor(const torch::Tensor&)> apply) {
  Step step;
  step.name = name;
  step.apply = std::move(apply);
  steps_.push_back(std::move(step));
}

const std::vector<Architecture>& architectures() {
  static const std::vector<Architecture> table = {
      {"mlp-mixnn", "784-128-64-10 MLP (MixNN Table 1)", 1, 28, 28, 10, make_mlp_mixnn},
      {"mlp7", "784-256-128-128-64-64-32-10 MLP, seven Linear layers (MixNN Theorem 1)", 1, 28, 28, 10, make_mlp7},
      {"vgg-mini", "VGG-style convs to 128x7x7, classifier 6272-1024-1024-10", 1, 28, 28, 10,
       [] { return make_vgg_mini(false); }},
      {"vgg-mini-seedpool", "vgg-mini pooled to 128x1x1 and replicated 7x7 (the seed's redundancy)",
       1, 28, 28, 10, [] { return make_vgg_mini(true); }},
      {"vgg16-seed", "torchvision VGG16, AdaptiveAvgPool2d(7,7), classifier 25088-4096-4096-100",
       3, 32, 32, 100, [] { return make_vgg16(true); }},
      {"vgg16-cifar", "VGG16 features without replication, classifier 512-512-100", 3, 32, 32, 100,
       [] { return make_vgg16(false); }},
  };
  return table;
}

const Architecture& architecture(const std::string& name) {
  std::string known;
  for (const auto& arch : architectures()) {
    if (arch.name == name) return arch;
    known += (known.empty() ? "" : ", ") + arch.name;
  }
  throw Error("--model.arch: unknown architecture '" + name + "' (known: " + known + ")");
}

std::shared_ptr<Network> build(const std::string& arch, std::uint64_t seed) {
  const auto& spec = architecture(arch);
  torch::manual_seed(derive_seed(seed, "model-init"));
  return spec.make();
}

std::string largest_linear(const Network& network) {
  std::string best;
  std::int64_t most = -1;
  for (const auto& item : network.named_modules("", /*include_self=*/false)) {
    if (auto linear = item.value()->as<torch::nn::Linear>()) {
      if (linear->weight.numel() > most) {
        most = linear->weight.numel();
        best = item.key();
      }
    }
  }
  TESSERA_ASSERT(!best.empty(), "network has no Linear layer");
  return best;
}

}  // namespace tessera::models
