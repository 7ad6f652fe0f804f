#include "models/registry.hpp"

namespace tessera::models {

namespace {

// A 784-...-10 MLP with ReLU between its Linear layers; its LogSoftmax+NLL is the
// cross-entropy the trainer applies to these logits. Steps are layers.0, layers.1, ...
struct Mlp : Network {
  torch::nn::Sequential layers;
  explicit Mlp(const std::vector<std::int64_t>& widths) {
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
      layers->push_back(torch::nn::Linear(widths[i], widths[i + 1]));
      if (i + 2 < widths.size()) layers->push_back(torch::nn::ReLU());
    }
    register_module("layers", layers);
    add_function("flatten", [](const torch::Tensor& x) { return x.flatten(1); });
    add_steps("layers", layers);
  }
};

}  // namespace

// MixNN's MNIST model (its Table 1).
std::shared_ptr<Network> make_mlp_mixnn() { return std::make_shared<Mlp>(std::vector<std::int64_t>{784, 128, 64, 10}); }

// Seven Linear layers, the cascade of MixNN's Theorem 1 (an adversary on layers 2, 4
// and 6 sees both sides of the honest layers 3 and 5).
std::shared_ptr<Network> make_mlp7() {
  return std::make_shared<Mlp>(std::vector<std::int64_t>{784, 256, 128, 128, 64, 64, 32, 10});
}

}  // namespace tessera::models
