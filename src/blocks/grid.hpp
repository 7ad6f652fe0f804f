// The block grid of a weight matrix W (out x in): blocks of bh x bw, R = ceil(out/bh)
// rows by C = ceil(in/bw) columns, block id b = r*C + c; the last row and column
// may be ragged (smaller). Conv weights are viewed as out x (in*kh*kw).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::blocks {

struct Grid {
  std::int64_t out = 0, in = 0, bh = 0, bw = 0, rows = 0, cols = 0;

  // Error naming --blocks.bh/--blocks.bw when a size is < 1 or exceeds the matrix;
  // `what` names the matrix in the message (e.g. "classifier.0.weight").
  static Grid make(std::int64_t out, std::int64_t in, std::int64_t bh, std::int64_t bw,
                   const std::string& what);

  std::int64_t count() const { return rows * cols; }
  std::int64_t id(std::int64_t r, std::int64_t c) const { return r * cols + c; }
  std::int64_t row_of(std::int64_t b) const { return b / cols; }
  std::int64_t col_of(std::int64_t b) const { return b % cols; }
  std::int64_t row_begin(std::int64_t r) const { return r * bh; }
  std::int64_t col_begin(std::int64_t c) const { return c * bw; }
  std::int64_t height(std::int64_t r) const { return std::min(bh, out - r * bh); }
  std::int64_t width(std::int64_t c) const { return std::min(bw, in - c * bw); }
};

// A 2-D view of a weight: Linear (out, in) as is, conv (out, in, kh, kw) as (out, in*kh*kw).
torch::Tensor as_matrix(const torch::Tensor& weight);

// The blocks of `matrix` in id order, each a contiguous copy.
std::vector<torch::Tensor> split(const torch::Tensor& matrix, const Grid& grid);

// The inverse of split: exactly the original matrix.
torch::Tensor assemble(const std::vector<torch::Tensor>& blocks, const Grid& grid);

// The weight (grid.out, grid.in) with blocks[k] (bh, bw) at position positions[k],
// zeros elsewhere: the adversary's held blocks where it placed them. The grid must
// tile the matrix (every block full size).
torch::Tensor place_blocks(const Grid& grid, const torch::Tensor& blocks, const std::vector<std::int64_t>& positions);

}  // namespace tessera::blocks
