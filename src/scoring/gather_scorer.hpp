// The population scorer for a device (docs/DESIGN.md section 3.6): the tile cache
// of the CPU engine (scoring/fitness.hpp) in tensor operations only, so that it
// runs wherever its tensors live -- a GPU above all. The tiles
// T[c][k] = x_c W_k^T (C, H, E, bh) are computed once on the device; a
// population's pre-activations are its blocks' tiles gathered and added into their
// rows (index_add_), then the steps after the layer run on all P*E rows at once.
//
// Deterministic: a row's tiles are added in column order, as the CPU engine adds
// them, in passes whose destinations are distinct (pass j adds every row's j-th
// block), so no two atomic adds meet. The scores equal the CPU engine's up to
// float rounding (the bias is added last here, first there).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scoring/fitness.hpp"

namespace tessera::scoring {

class GatherScorer {
 public:
  // Copies what it needs of `knowledge` to `device`. Raises an Error naming
  // `budget_option` when the tiles take more than `tile_bytes`.
  GatherScorer(const Knowledge& knowledge, FitnessKind kind, torch::Device device, std::int64_t tile_bytes,
               const std::string& budget_option);

  torch::Device device() const { return tiles_.device(); }
  // One call for a whole population; scores on the host.
  Scores evaluate(const std::vector<blocks::Genome>& population);

  // Bytes of tiles for a knowledge of this shape.
  static std::int64_t tile_bytes(const Knowledge& knowledge);
  // Candidates per pass: their pre-activations and gathered tiles take at most this.
  static constexpr std::int64_t kPassBytes = std::int64_t{1} << 30;

 private:
  torch::Tensor pre_activations(const std::vector<blocks::Genome>& population, std::int64_t first,
                                std::int64_t count) const;

  FitnessKind kind_;
  blocks::Grid grid_;
  std::int64_t held_ = 0, images_ = 0;
  models::TargetLayer layer_;  // on the device: bias and the steps after the layer
  torch::Tensor tiles_;        // (C * H, E, bh): column c's tile of block k at c * H + k
  torch::Tensor labels_, victim_predictions_;
};

}  // namespace tessera::scoring
