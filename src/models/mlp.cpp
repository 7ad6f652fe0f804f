#include "models/registry.hpp"

namespace tessera::models {

namespace {

// MixNN's MNIST model: 784-128-64-10 with ReLU; its LogSoftmax+NLL is the
// cross-entropy the trainer applies to these logits.
struct MlpMixnn : Network {
  torch::nn::Sequential layers{torch::nn::Linear(784, 128), torch::nn::ReLU(),
                               torch::nn::Linear(128, 64),  torch::nn::ReLU(),
                               torch::nn::Linear(64, 10)};
  MlpMixnn() { register_module("layers", layers); }
  torch::Tensor forward(torch::Tensor images) override {
    return layers->forward(images.flatten(1));
  }
};

}  // namespace

std::shared_ptr<Network> make_mlp_mixnn() { return std::make_shared<MlpMixnn>(); }

}  // namespace tessera::models
