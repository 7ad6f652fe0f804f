// What the adversary has when it searches for block positions (docs/DESIGN.md
// section 4), and what the scoring engine scores placements with: the rest of the
// model, its own eval images and the service's answers on them, and the blocks its
// devices hold.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "blocks/grid.hpp"
#include "data/datasets.hpp"
#include "models/target_layer.hpp"

namespace tessera::scoring {

// The rest of the model (the steps after the target layer and the layer's bias,
// never its weight), its eval images' features and labels, the service's answers on
// them, and the hijacked blocks, in the order they arrived.
struct Knowledge {
  blocks::Grid grid;               // blocks of one shape: every held block fits every position
  models::TargetLayer layer;       // `weight` left undefined
  torch::Tensor features;          // (E, in)
  torch::Tensor labels;            // (E) int64
  torch::Tensor victim_predictions;  // (E) int64: the service's top-1 answers
  torch::Tensor held;              // (H, bh, bw)
  // The architecture and every other trained weight matrix (name -> tensor, the
  // state_dict's names), for the searches that compare with regenerated initial
  // weights; `target_parameter` is the target weight's name ("classifier.0.weight").
  std::string arch, target_parameter;
  std::vector<std::pair<std::string, torch::Tensor>> known_parameters;
  // Every parameter and buffer the adversary knows (biases included: all but the
  // target weight and the secret ones), for a method that rebuilds the network
  // around the layer and trains it (the surrogate); `unknown` names the others.
  std::vector<std::pair<std::string, torch::Tensor>> known_state;
  std::vector<std::string> unknown;
  // The adversary's public images (--adversary.public: the first K of the training
  // split, never a test image) for a method that trains; empty when none does.
  data::Split public_data;
};

}  // namespace tessera::scoring
