// A MixNN server's piece of the model (docs/DESIGN.md section 11.2): a run of the
// architecture's steps with its own SGD, trained from the gradients that arrive
// from the next server. The designer holds one Part per piece as well: the ones it
// keeps (`--mixnn.designer_keeps`) it trains itself; the others are its copy of the
// last good state, used to rebuild a cascade and to check the cascade's answers.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/registry.hpp"
#include "train/trainer.hpp"

namespace tessera::mixnn {

// Steps [first, last) of the architecture; `loss`: the part ends with the log-softmax
// and the NLL loss (the last part).
struct PartPlan {
  std::string name;  // "layers.0+layers.1"
  int first = 0, last = 0;
  bool loss = false;
};

// One part per `layers_per_part` layers with parameters, each with the parameter-free
// steps after it (the steps before the first layer join the first part).
std::vector<PartPlan> plan_parts(const models::Network& network, int layers_per_part);

// The parameters of `network` that belong to the part's steps, in the order of a
// Part's state.
std::vector<torch::Tensor> part_parameters(models::Network& network, const PartPlan& plan);

// The largest message of a cascade whose servers hold parts [first, end): the
// activations (or gradients) at any of their cuts for a batch (the images at the
// first part's input as stored, one byte a pixel), the labels, or a
// small control message.
std::size_t largest_message(const std::string& arch, const std::vector<PartPlan>& plans, int first, int end,
                            std::int64_t batch);

class Part {
 public:
  // Parameters from `initial` (matched by name) when given; momentum buffers zero.
  Part(const std::string& arch, const PartPlan& plan, const train::Settings& settings,
       const models::Network* initial = nullptr);

  const PartPlan& plan() const { return plan_; }
  // Training forward of `step`: keeps what the backward needs. For the loss part
  // `labels` are required and the result is the summed loss (1 element); otherwise
  // the part's output. Without `input_gradient` the backward returns nothing (the
  // input is data).
  torch::Tensor train_forward(std::int64_t step, const torch::Tensor& input, const torch::Tensor& labels = {},
                              bool input_gradient = true);
  // Backward of `step`: `grad` is dL/d(output) (undefined for the loss part); the
  // optimizer steps; returns dL/d(input) (undefined without an input gradient).
  torch::Tensor train_backward(std::int64_t step, const torch::Tensor& grad);
  // Evaluation without gradients: the output, or log-probabilities for the loss part.
  torch::Tensor test_forward(const torch::Tensor& input);
  bool waiting(std::int64_t step) const { return pending_.count(step) > 0; }
  void forget_pending() { pending_.clear(); }

  // Parameters then momentum buffers, flattened (float32): what a rebuild restores.
  std::vector<float> state() const;
  std::size_t state_size() const { return 2 * parameter_count_; }
  void set_state(const std::vector<float>& state);
  void set_learning_rate(double lr);

 private:
  torch::Tensor apply(torch::Tensor x) const;
  struct Pending {
    torch::Tensor input, output;
  };
  PartPlan plan_;
  std::shared_ptr<models::Network> network_;
  std::vector<torch::Tensor> parameters_;
  std::size_t parameter_count_ = 0;
  std::unique_ptr<torch::optim::SGD> optimizer_;
  std::map<std::int64_t, Pending> pending_;
};

}  // namespace tessera::mixnn
