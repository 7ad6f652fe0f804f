#include "scoring/column_products.hpp"

#include "core/error.hpp"

namespace tessera::scoring {

ColumnProducts::ColumnProducts(const blocks::Grid& grid)
    : grid_(grid), rows_(grid.cols), weights_(grid.cols), base_(grid.cols + 1, 0) {}

std::int64_t ColumnProducts::add(std::int64_t column, const torch::Tensor& rows) {
  TESSERA_ASSERT(!finished_ && column >= 0 && column < grid_.cols);
  TESSERA_ASSERT(rows.dim() == 2 && rows.size(1) == grid_.width(column) && rows.scalar_type() == torch::kFloat);
  std::int64_t within = 0;
  for (const auto& registered : rows_[column]) within += registered.size(0);
  entries_.push_back({column, within});
  rows_[column].push_back(rows);
  return static_cast<std::int64_t>(entries_.size()) - 1;
}

void ColumnProducts::finish() {
  TESSERA_ASSERT(!finished_);
  for (std::int64_t c = 0; c < grid_.cols; ++c) {
    const auto& rows = rows_[c];
    std::int64_t count = 0;
    for (const auto& registered : rows) count += registered.size(0);
    // One tensor is used as it is (a matrix shared by many columns stays one copy).
    if (rows.size() == 1) weights_[c] = rows.front().contiguous().t();
    if (rows.size() > 1) weights_[c] = torch::cat(rows, 0).t();
    base_[c + 1] = base_[c] + count;
  }
  rows_.clear();
  finished_ = true;
}

void ColumnProducts::compute(const torch::Tensor& features, torch::Tensor& out) const {
  TESSERA_ASSERT(finished_ && features.dim() == 2 && features.size(1) == grid_.in);
  TESSERA_ASSERT(out.dim() == 2 && out.size(0) == features.size(0) && out.size(1) == width() && out.stride(1) == 1);
  for (std::int64_t c = 0; c < grid_.cols; ++c) {
    if (!weights_[c].defined()) continue;
    auto part = out.narrow(1, base_[c], base_[c + 1] - base_[c]);
    torch::mm_out(part, features.narrow(1, grid_.col_begin(c), grid_.width(c)), weights_[c]);
  }
}

}  // namespace tessera::scoring
