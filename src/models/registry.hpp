// The victim architectures. Parameter names follow PyTorch's state_dict
// (e.g. "classifier.0.weight"), so files are readable next to PyTorch code.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tessera::models {

// Every architecture maps a batch of images (N, C, H, W) to class logits (N, K).
struct Network : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor images) = 0;
};

struct Architecture {
  std::string name;
  std::string summary;
  std::int64_t channels, height, width, classes;
  std::function<std::shared_ptr<Network>()> make;
};

const std::vector<Architecture>& architectures();
// Error naming --model.arch for an unknown name.
const Architecture& architecture(const std::string& name);

// A freshly initialised network; the same seed gives the same weights.
std::shared_ptr<Network> build(const std::string& arch, std::uint64_t seed);

// Name prefix of the Linear layer with the most weights, e.g. "classifier.0".
std::string largest_linear(const Network& network);

// Factories, one per file.
std::shared_ptr<Network> make_mlp_mixnn();
std::shared_ptr<Network> make_vgg_mini(bool seed_pool);
std::shared_ptr<Network> make_vgg16(bool seed_geometry);

}  // namespace tessera::models
