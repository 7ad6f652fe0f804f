// A network seen from one of its Linear layers: the steps before it (which turn
// images into the layer's input features), the layer, and the steps after it.
// The adversary knows everything but the target layer's block positions, so it
// computes the features once and runs only the steps after the layer per candidate.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/registry.hpp"

namespace tessera::models {

struct TargetLayer {
  std::vector<Step> before, after;
  torch::Tensor weight, bias;  // (out, in) and (out); a zero bias when the layer has none
  double after_flops_per_image = 0;  // the GEMM flops of the Linear steps after the layer

  // The layer's input features (images, in), computed in chunks, without gradients.
  torch::Tensor features(const torch::Tensor& images) const;
  // Logits from the layer's pre-activation (rows, out), from step `first_step` on (a
  // caller that applied the first steps itself skips them). Gradients are kept as
  // the caller's grad mode says: under torch::NoGradGuard (every scorer) a ReLU works
  // in place once the tensor is one of ours, or from the start with
  // `overwrite_input`; with gradients on nothing is done in place, so a loss can be
  // differentiated through the logits.
  torch::Tensor after_layer(torch::Tensor pre_activation, bool overwrite_input = false,
                            std::size_t first_step = 0) const;
  // A copy for scoring on `device` (a GPU): the weight, the bias and the steps after
  // the layer, as they act in eval mode (Linear, ReLU, Dropout as identity, each a
  // function of its own copies of the parameters), moved there; `before` is left
  // empty (the features are computed where the network lives).
  TargetLayer on_device(torch::Device device) const;
};

// Error naming --blocks.layers when `layer` is not a Linear step of `network`.
// The network is put in eval mode; the tensors are detached from it.
TargetLayer split_at(Network& network, const std::string& layer);

}  // namespace tessera::models
