// The row slices of a population's pre-activations from cached tiles. A candidate's
// pre-activation (E, out) is R row slices of E x bh: slice r is the layer's bias plus
// the tiles of the blocks the candidate places in row r, added in column order. A
// slice depends only on its row and those (column, block) pairs, and in a GA most of
// them recur: a child that differs from its parent by a crossover segment or a swap
// shares every other row with it. The sums of the last call are kept under their key
// and copied instead of summed again; a sum is always made in the same order, so a
// kept slice equals a recomputed one bit for bit.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "blocks/grid.hpp"
#include "search/operators.hpp"

namespace tessera::attack {

class RowSlices {
 public:
  // `tiles` (C, H, E, bh) and `bias` (out) must outlive this object.
  RowSlices(const blocks::Grid& grid, const torch::Tensor& tiles, const torch::Tensor& bias);

  // The pre-activations (P, E, out) of a population.
  torch::Tensor build(const std::vector<search::Genome>& population);

  // Slices summed and slices reused by the calls so far (for the benchmarks).
  std::int64_t summed() const { return summed_; }
  std::int64_t reused() const { return reused_; }

 private:
  // A new slice to sum into `slot`: row r's bias and these tiles, in column order.
  struct Sum {
    std::int64_t slot, row;
    std::vector<const float*> tiles;
  };
  std::int64_t take_slot();
  void add(const Sum& sum);

  blocks::Grid grid_;
  std::int64_t held_, images_;
  const float* tile_data_;
  const float* bias_data_;
  std::unordered_map<std::string, std::int64_t> slot_of_;  // the last call's slices by key
  std::vector<float> store_;                               // slots of E x bh floats
  std::vector<std::int64_t> free_slots_;
  std::int64_t slots_ = 0, summed_ = 0, reused_ = 0;
};

}  // namespace tessera::attack
