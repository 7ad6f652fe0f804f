// This rank's blocks of one Linear layer (y = x W^T + b), packed for fast products.
// The blocks of one block row are multiplied together in one GEMM over the columns
// they cover, and adjacent rows covering the same columns (whole rows, typically,
// when devices are placed on ranks by position) merge into one band. So a rank
// hosting thousands of tiny devices still does a few large GEMMs.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "blocks/grid.hpp"

namespace tessera::service {

class ShardedLinear {
 public:
  // `weight` is the full (out x in) matrix; only the blocks in `held` are kept.
  ShardedLinear(const torch::Tensor& weight, const blocks::Grid& grid, const std::vector<std::int64_t>& held,
                torch::Device device);

  // Whole-batch input (B x in) -> this rank's partial pre-activation (B x out):
  // the sum over its blocks of x_c W_rc^T placed at rows r, zeros elsewhere.
  torch::Tensor partial_forward(const torch::Tensor& x) const;

  // The packed weights, one tensor per segment (they require grad).
  std::vector<torch::Tensor> parameters() const;
  // Adds this rank's blocks (or their gradients) into `full` (out x in), e.g. to
  // reassemble the matrix.
  void add_into(torch::Tensor& full, bool gradients = false) const;
  std::int64_t segments() const { return static_cast<std::int64_t>(segments_.size()); }

 private:
  struct Segment {
    std::int64_t row_begin = 0, rows = 0;
    std::int64_t col_begin = 0, cols = 0;  // when the columns are one contiguous range
    torch::Tensor columns;                 // otherwise: int64 indices of the columns
    torch::Tensor weight;                  // rows x (number of columns)
    bool contiguous() const { return !columns.defined(); }
  };
  std::vector<Segment> segments_;
  std::int64_t out_, in_;
};

}  // namespace tessera::service
