// The first Linear after the target layer, taken apart by the target layer's row
// slices. When only elementwise steps (ReLU, Dropout in eval mode) lie between them,
// that Linear's pre-activation is b2 + sum_r relu(s_r) W2_r^T: s_r is row slice r of
// the target layer's pre-activation (E x bh) and W2_r the bh columns of W2 it meets.
// A slice's product depends on the slice alone, so a swap move, which touches at most
// two row slices, needs two new products (2/R of the GEMM) and a pass that replaces
// them in the sum (SwapChain). For whole populations the GEMM is cheaper: every
// candidate would still read R products.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "blocks/grid.hpp"
#include "models/target_layer.hpp"

namespace tessera::scoring {

class RowProducts {
 public:
  // nullptr when the steps after the target layer do not begin with elementwise steps
  // and a Linear.
  static std::unique_ptr<RowProducts> make(const models::TargetLayer& layer, const blocks::Grid& grid,
                                           std::int64_t images);

  std::int64_t width() const { return width_; }         // the Linear's outputs
  std::size_t next_step() const { return next_step_; }   // the first step of `after` past the Linear
  std::int64_t floats() const { return images_ * width_; }  // of one product

  // z (E, width) = relu(slice) W2_r^T for row slice `row` (E, bh); without the ReLU
  // when no ReLU step comes before the Linear.
  void product(const float* slice, std::int64_t row, float* z) const;
  // out (E, width) = bias + z[0] + z[1] + ... + z[R-1], added in that order.
  void sum(const float* const* z, float* out) const;
  // out (E, width) = sum + (now[0] - before[0]) + ... + (now[n-1] - before[n-1]): a
  // sum with n rows' products replaced: it reads the sum and 2n products, not R.
  void replace(const float* sum, const float* const* before, const float* const* now, std::int64_t n,
               float* out) const;

 private:
  RowProducts(const blocks::Grid& grid, std::int64_t images, const torch::nn::Linear& linear, bool relu,
              std::size_t next_step);

  blocks::Grid grid_;
  std::int64_t images_, width_;
  bool relu_;
  std::size_t next_step_;
  std::vector<torch::Tensor> weight_rows_;  // per row r: W2_r^T (bh, width), contiguous
  torch::Tensor bias_;                      // (width)
};

}  // namespace tessera::scoring
