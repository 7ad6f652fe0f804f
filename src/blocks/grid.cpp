#include "blocks/grid.hpp"

#include "core/error.hpp"

namespace tessera::blocks {

Grid Grid::make(std::int64_t out, std::int64_t in, std::int64_t bh, std::int64_t bw,
                const std::string& what) {
  TESSERA_REQUIRE(bh >= 1, "--blocks.bh: block height must be >= 1, got ", bh);
  TESSERA_REQUIRE(bw >= 1, "--blocks.bw: block width must be >= 1, got ", bw);
  TESSERA_REQUIRE(bh <= out, "--blocks.bh: block height ", bh, " exceeds the ", out, " rows of ", what,
                  " (", out, "x", in, ")");
  TESSERA_REQUIRE(bw <= in, "--blocks.bw: block width ", bw, " exceeds the ", in, " columns of ", what,
                  " (", out, "x", in, ")");
  Grid grid;
  grid.out = out;
  grid.in = in;
  grid.bh = bh;
  grid.bw = bw;
  grid.rows = (out + bh - 1) / bh;
  grid.cols = (in + bw - 1) / bw;
  return grid;
}

torch::Tensor as_matrix(const torch::Tensor& weight) {
  TESSERA_ASSERT(weight.dim() >= 2, "a weight to cut into blocks has >= 2 dimensions");
  return weight.reshape({weight.size(0), -1});
}

std::vector<torch::Tensor> split(const torch::Tensor& matrix, const Grid& grid) {
  TESSERA_ASSERT(matrix.dim() == 2 && matrix.size(0) == grid.out && matrix.size(1) == grid.in);
  std::vector<torch::Tensor> blocks;
  blocks.reserve(grid.count());
  for (std::int64_t r = 0; r < grid.rows; ++r)
    for (std::int64_t c = 0; c < grid.cols; ++c)
      blocks.push_back(matrix.narrow(0, grid.row_begin(r), grid.height(r))
                           .narrow(1, grid.col_begin(c), grid.width(c))
                           .contiguous()
                           .clone());
  return blocks;
}

torch::Tensor assemble(const std::vector<torch::Tensor>& blocks, const Grid& grid) {
  TESSERA_ASSERT(static_cast<std::int64_t>(blocks.size()) == grid.count());
  auto matrix = torch::empty({grid.out, grid.in}, blocks.front().options());
  for (std::int64_t b = 0; b < grid.count(); ++b) {
    const auto r = grid.row_of(b), c = grid.col_of(b);
    matrix.narrow(0, grid.row_begin(r), grid.height(r))
        .narrow(1, grid.col_begin(c), grid.width(c))
        .copy_(blocks[b]);
  }
  return matrix;
}

torch::Tensor place_blocks(const Grid& grid, const torch::Tensor& blocks, const std::vector<std::int64_t>& positions) {
  torch::NoGradGuard no_grad;
  TESSERA_ASSERT(blocks.size(0) == static_cast<std::int64_t>(positions.size()));
  auto all = torch::zeros({grid.count(), grid.bh, grid.bw});
  if (!positions.empty()) all.index_copy_(0, torch::tensor(positions, torch::kInt64), blocks);
  return all.view({grid.rows, grid.cols, grid.bh, grid.bw}).permute({0, 2, 1, 3}).reshape({grid.out, grid.in});
}

}  // namespace tessera::blocks
