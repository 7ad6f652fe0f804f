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
  // Logits from the layer's pre-activation (rows, out); with `overwrite_input` the
  // pre-activation may be used as scratch space. From `first_step` on (a caller that
  // applied the first steps itself skips them).
  torch::Tensor after_layer(torch::Tensor pre_activation, bool overwrite_input = false,
                            std::size_t first_step = 0) const;
  // The same steps with autograd on and nothing in place: logits through which a
  // loss can be differentiated with respect to the pre-activation (or what made it).
  torch::Tensor after_layer_differentiable(torch::Tensor pre_activation) const;
};

// Error naming --blocks.layers when `layer` is not a Linear step of `network`.
// The network is put in eval mode; the tensors are detached from it.
TargetLayer split_at(Network& network, const std::string& layer);

}  // namespace tessera::models
