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
#include "blocks/genome.hpp"

namespace tessera::scoring {

class RowSlices {
 public:
  // `tiles` (C, H, E, bh) and `bias` (out) must outlive this object.
  RowSlices(const blocks::Grid& grid, const torch::Tensor& tiles, const torch::Tensor& bias);

  // The pre-activations (P, E, out) of a population: prepare, then fill all.
  torch::Tensor build(const std::vector<blocks::Genome>& population);
  // Finds the population's slices among those kept and assigns the new ones a place;
  // sums nothing yet. The slices kept from the call before are then those of this one.
  void prepare(const std::vector<blocks::Genome>& population);
  // Writes candidates [first, first + count) of the prepared population into `pre`
  // (count, E, out), summing the slices they are the first to use; with `relu`,
  // max(0, x) is written (the sums kept are the pre-activations themselves).
  void fill(float* pre, std::int64_t first, std::int64_t count, bool relu);

  // Row slice `row` (E x bh) of one genome, summed as for a population (same bits),
  // nothing kept.
  void slice_of(const blocks::Genome& genome, std::int64_t row, float* out) const;

  // Slices summed and slices reused by the calls so far (for the benchmarks).
  std::int64_t summed() const { return summed_; }
  std::int64_t reused() const { return reused_; }

 private:
  // A new slice: row `row`'s bias and these tiles, in column order, summed into
  // `slot`; `user` (candidate x R + row) is the first to use it.
  struct Sum {
    std::int64_t slot, row, user;
    std::vector<const float*> tiles;
  };
  std::int64_t take_slot();
  // The (column, block) pairs a genome places in each row, in column order.
  using Pairs = std::vector<std::pair<std::int32_t, std::int32_t>>;
  void pairs_of(const blocks::Genome& genome, Pairs* rows) const;
  std::vector<const float*> tiles_of(const Pairs& pairs) const;
  void add(const Sum& sum, float* scratch) const;
  // Copies the slice in `slot` into rows of `out` (row stride out), optionally max(0, x).
  void copy_out(const float* slice, float* out, bool relu) const;

  blocks::Grid grid_;
  std::int64_t held_, images_;
  const float* tile_data_;
  const float* bias_data_;
  std::unordered_map<std::string, std::int64_t> slot_of_;  // the slices of the last call by key
  std::vector<float> store_;                               // slots of E x bh floats
  std::vector<std::int64_t> free_slots_;
  std::int64_t slots_ = 0, summed_ = 0, reused_ = 0;
  // The prepared population: every (candidate, row)'s slot, and the sums not yet made
  // ordered by first user.
  std::vector<std::int64_t> slot_;
  std::vector<Sum> sums_;
  std::vector<bool> first_user_;
};

}  // namespace tessera::scoring
