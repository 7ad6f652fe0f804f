#include "service/sharded_linear.hpp"

#include <algorithm>
#include <map>

#include "core/error.hpp"

namespace tessera::service {

ShardedLinear::ShardedLinear(const torch::Tensor& weight, const blocks::Grid& grid,
                             const std::vector<std::int64_t>& held, torch::Device device)
    : out_(grid.out), in_(grid.in) {
  TESSERA_ASSERT(weight.dim() == 2 && weight.size(0) == grid.out && weight.size(1) == grid.in);
  std::map<std::int64_t, std::vector<std::int64_t>> columns_of_row;
  for (auto b : held) columns_of_row[grid.row_of(b)].push_back(grid.col_of(b));

  for (auto& [r, cols] : columns_of_row) {
    std::sort(cols.begin(), cols.end());
    Segment seg;
    seg.row_begin = grid.row_begin(r);
    seg.rows = grid.height(r);
    const bool consecutive = cols.back() - cols.front() + 1 == static_cast<std::int64_t>(cols.size());
    if (consecutive) {
      seg.col_begin = grid.col_begin(cols.front());
      seg.cols = grid.col_begin(cols.back()) + grid.width(cols.back()) - seg.col_begin;
    } else {
      std::vector<torch::Tensor> ranges;
      for (auto c : cols) ranges.push_back(torch::arange(grid.col_begin(c), grid.col_begin(c) + grid.width(c)));
      seg.columns = torch::cat(ranges);
    }
    // Merge with the previous segment when it covers the rows just above and the same columns.
    if (!segments_.empty() && seg.contiguous()) {
      auto& last = segments_.back();
      if (last.contiguous() && last.row_begin + last.rows == seg.row_begin && last.col_begin == seg.col_begin &&
          last.cols == seg.cols) {
        last.rows += seg.rows;
        continue;
      }
    }
    segments_.push_back(std::move(seg));
  }
  torch::NoGradGuard no_grad;
  for (auto& seg : segments_) {
    // The weight may already be on the device (the service moves the network first):
    // the column indices go where it is.
    if (!seg.contiguous()) seg.columns = seg.columns.to(weight.device());
    auto rows = weight.narrow(0, seg.row_begin, seg.rows);
    auto packed = seg.contiguous() ? rows.narrow(1, seg.col_begin, seg.cols) : rows.index_select(1, seg.columns);
    seg.weight = packed.to(device).clone().set_requires_grad(true);
    if (!seg.contiguous()) seg.columns = seg.columns.to(device);
  }
}

torch::Tensor ShardedLinear::partial_forward(const torch::Tensor& x) const {
  const auto batch = x.size(0);
  std::vector<torch::Tensor> pieces;
  std::int64_t row = 0;
  for (const auto& seg : segments_) {
    if (seg.row_begin > row) pieces.push_back(torch::zeros({batch, seg.row_begin - row}, x.options()));
    torch::Tensor inputs;
    if (!seg.contiguous())
      inputs = x.index_select(1, seg.columns);
    else
      inputs = seg.col_begin == 0 && seg.cols == in_ ? x : x.narrow(1, seg.col_begin, seg.cols);
    pieces.push_back(torch::matmul(inputs, seg.weight.t()));
    row = seg.row_begin + seg.rows;
  }
  if (row < out_) pieces.push_back(torch::zeros({batch, out_ - row}, x.options()));
  return torch::cat(pieces, 1);
}

std::vector<torch::Tensor> ShardedLinear::parameters() const {
  std::vector<torch::Tensor> params;
  for (const auto& seg : segments_) params.push_back(seg.weight);
  return params;
}

void ShardedLinear::add_into(torch::Tensor& full, bool gradients) const {
  torch::NoGradGuard no_grad;
  for (const auto& seg : segments_) {
    auto rows = full.narrow(0, seg.row_begin, seg.rows);
    const auto& source = gradients ? seg.weight.grad() : seg.weight;
    if (!source.defined()) continue;
    auto w = source.to(full.device());
    if (seg.contiguous())
      rows.narrow(1, seg.col_begin, seg.cols).add_(w);
    else
      rows.index_add_(1, seg.columns.to(full.device()), w);
  }
}

}  // namespace tessera::service
