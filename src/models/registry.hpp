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

// One step of a forward pass: a named module ("features.0", "classifier.3") whose
// parameters are "<name>.weight"/"<name>.bias", or a parameter-free function
// ("flatten", "seedpool"). The service splits this list at the layers it cuts
// into blocks and runs the pieces between them itself.
struct Step {
  std::string name;
  std::function<torch::Tensor(const torch::Tensor&)> apply;
  torch::nn::Linear linear{nullptr};  // set when the step is a Linear layer
  bool has_parameters = false;        // a "layer" (Conv2d or Linear)
  double dropout = 0;                 // > 0: a Dropout step of this probability
  bool relu = false;                  // a ReLU step (may be applied in place where no gradient is kept)
};

// Every architecture maps a batch of images (N, C, H, W) to class logits (N, K)
// by applying its steps in order.
struct Network : torch::nn::Module {
  torch::Tensor forward(torch::Tensor images) {
    for (const auto& step : steps_) images = step.apply(images);
    return images;
  }
  const std::vector<Step>& steps() const { return steps_; }

 protected:
  // Appends one step per child of `sequence`, named "<prefix>.<index>".
  void add_steps(const std::string& prefix, torch::nn::Sequential& sequence);
  void add_function(const std::string& name, std::function<torch::Tensor(const torch::Tensor&)> apply);
  // Appends another network's step (its module stays that network's).
  void add_step(Step step) { steps_.push_back(std::move(step)); }

 private:
  std::vector<Step> steps_;
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
std::shared_ptr<Network> make_mlp7();
std::shared_ptr<Network> make_vgg_mini(bool seed_pool);
std::shared_ptr<Network> make_vgg16(bool seed_geometry);

}  // namespace tessera::models
