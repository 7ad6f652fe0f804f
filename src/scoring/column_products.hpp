// The products a candidate's pre-activation is summed from. A block b placed at grid
// position (r, c) adds x_c W_b^T to output rows r, where x_c are the layer-input
// features of column c: the product depends on the block and the column, never the
// row. So every scorer (the drop and swap sweeps' product cache, the adversary's tile
// cache) registers the blocks it needs in each column, and one GEMM per column makes
// their products for a set of images, image-major: an image's products are one
// contiguous run of floats, column after column, each column's blocks in the order
// they were registered (docs/DESIGN.md section 3.2).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "blocks/grid.hpp"

namespace tessera::scoring {

class ColumnProducts {
 public:
  explicit ColumnProducts(const blocks::Grid& grid);

  // Registers blocks in `column`: `rows` is their rows stacked (k x width(column)),
  // one block or many. The same tensor may be registered in many columns without
  // being copied. Returns a key for offset(); only before finish().
  std::int64_t add(std::int64_t column, const torch::Tensor& rows);
  // Fixes the layout: width() floats per image.
  void finish();

  std::int64_t width() const { return base_.back(); }
  // Where the first product of the key's rows starts in an image's run of floats.
  std::int64_t offset(std::int64_t key) const { return base_[entries_[key].column] + entries_[key].within; }

  // out (images x width(), row stride out.stride(0), unit column stride) = the
  // products for the images whose features are `features` (images x in). Each
  // column's products are one GEMM whatever else is computed, so the values do not
  // depend on which or how many columns a ColumnProducts holds.
  void compute(const torch::Tensor& features, torch::Tensor& out) const;

 private:
  struct Entry {
    std::int64_t column, within;
  };
  blocks::Grid grid_;
  bool finished_ = false;
  std::vector<Entry> entries_;
  std::vector<std::vector<torch::Tensor>> rows_;  // per column, as registered
  std::vector<torch::Tensor> weights_;            // per column: its rows transposed (width x k)
  std::vector<std::int64_t> base_;                // per column: where its products start; then the width
};

}  // namespace tessera::scoring
