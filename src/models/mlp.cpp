#include "models/registry.hpp"

namespace tessera::models {

namespace {

// MixNN's MNIST model: 784-128-64-10 with ReLU; its LogSoftmax+NLL is the
// cross-entropy the trainer applies to these logits.
struct MlpMixnn : Network {
  torch::nn::Sequential layers{torch::nn::Linear(784, 128), torch::nn::ReLU(),
                               torch::nn::Linear(128, 64),  torch::nn::ReLU(),
                               torch::nn::Linear(64, 10)};
  MlpMixnn() {
    register_module("layers", layers);
    add_function("flatten", [](const torch::Tensor& x) { return x.flatten(1); });
    add_steps("layers", layers);
  }
};

}  // namespace

std::shared_ptr<Network> make_mlp_mixnn() { return std::make_shared<MlpMixnn>(); }

}  // namespace tessera::models
