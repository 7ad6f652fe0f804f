// Scores an adversary's reconstruction of the target layer on an evaluation set.
// The adversary knows every other layer, so the target layer's input features X
// (E x in) are computed once; a candidate then costs only its held blocks'
// products (y_r += x_c W_b^T for block b placed at (r, c); missing blocks are zero)
// and the layers after the target layer.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "blocks/grid.hpp"
#include "data/datasets.hpp"
#include "models/registry.hpp"
#include "models/target_layer.hpp"

namespace tessera::sweeps {

struct Score {
  double accuracy = 0;  // top-1 on the eval set
  double loss = 0;      // mean cross-entropy
  double fidelity = 0;  // agreement with the victim's predictions
};

class Evaluator {
 public:
  // `victim` holds the true weights; `layer` is the target Linear layer.
  Evaluator(models::Network& victim, const std::string& layer, const blocks::Grid& grid, const data::Split& eval);

  // held[k] (a block id of the victim's weight) placed at position[k].
  Score score(const std::vector<std::int64_t>& held, const std::vector<std::int64_t>& position) const;

  // The same in parts, for sweeps that build one candidate from another: the
  // pre-activation starts as the bias, blocks' products are added (sign +1) or
  // taken away (sign -1), and the layers after the target layer give the score.
  torch::Tensor bias_rows() const;
  torch::Tensor bias_rows(std::int64_t rows) const;
  void add_products(torch::Tensor& pre_activation, const std::vector<std::int64_t>& held,
                    const std::vector<std::int64_t>& position, double sign = 1.0) const;
  Score score_pre_activation(const torch::Tensor& pre_activation) const;

  // Scoring in slices of the eval set, so that a sweep can cache block products
  // for one slice at a time (memory) and sum the slices' tallies afterwards.
  struct Tally {
    double correct = 0, loss = 0, agree = 0;  // sums over the slice's images
    std::int64_t images = 0;
    Tally& operator+=(const Tally& other);
  };
  // The target layer's input features of images [begin, begin + rows).
  torch::Tensor features(std::int64_t begin, std::int64_t rows) const { return features_.narrow(0, begin, rows); }
  // Block b of the victim's weight (a view).
  torch::Tensor block_weight(std::int64_t b) const;
  // Runs the layers after the target layer on the pre-activation of images
  // [begin, begin + pre_activation.size(0)) and tallies them.
  // With `overwrite`, the pre-activation may be used as scratch space.
  Tally tally_pre_activation(const torch::Tensor& pre_activation, std::int64_t begin, bool overwrite = false) const;
  Score score_of(const Tally& tally) const;

  // The victim itself on the eval set (all blocks at their places).
  const Score& victim() const { return victim_; }
  std::int64_t images() const { return labels_.size(0); }
  std::int64_t blocks() const { return grid_.count(); }
  // Flops of the unavoidable GEMMs of one score() call with `held` blocks: the held
  // blocks' products plus the Linear layers after the target layer.
  double floor_flops(std::int64_t held) const;

 private:
  Score rate(const torch::Tensor& logits) const;

  blocks::Grid grid_;
  torch::Tensor features_, weight_, bias_, labels_, victim_predictions_;
  models::TargetLayer layer_;  // the steps after the target layer, and their flops
  Score victim_;
};

}  // namespace tessera::sweeps
