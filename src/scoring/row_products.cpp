#include "scoring/row_products.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

namespace tessera::scoring {

std::unique_ptr<RowProducts> RowProducts::make(const models::TargetLayer& layer, const blocks::Grid& grid,
                                               std::int64_t images) {
  bool relu = false;
  for (std::size_t s = 0; s < layer.after.size(); ++s) {
    const auto& step = layer.after[s];
    if (step.linear) {
      if (step.linear->weight.size(1) != grid.out) return nullptr;
      return std::unique_ptr<RowProducts>(new RowProducts(grid, images, step.linear, relu, s + 1));
    }
    if (step.relu)
      relu = true;
    else if (step.dropout <= 0)  // Dropout is the identity in eval mode; any other step ends it
      return nullptr;
  }
  return nullptr;
}

RowProducts::RowProducts(const blocks::Grid& grid, std::int64_t images, const torch::nn::Linear& linear, bool relu,
                         std::size_t next_step)
    : grid_(grid), images_(images), width_(linear->weight.size(0)), relu_(relu), next_step_(next_step) {
  torch::NoGradGuard no_grad;
  const auto weight = linear->weight.detach();
  for (std::int64_t r = 0; r < grid_.rows; ++r)
    weight_rows_.push_back(weight.narrow(1, r * grid_.bh, grid_.bh).t().contiguous());
  bias_ = linear->bias.defined() ? linear->bias.detach().contiguous() : torch::zeros({width_});
}

void RowProducts::product(const float* slice, std::int64_t row, float* z) const {
  torch::NoGradGuard no_grad;
  auto x = torch::from_blob(const_cast<float*>(slice), {images_, grid_.bh});
  auto out = torch::from_blob(z, {images_, width_});
  torch::mm_out(out, relu_ ? x.clamp_min(0) : x, weight_rows_[row]);
}

void RowProducts::sum(const float* const* z, float* out) const {
  const float* bias = bias_.data_ptr<float>();
  const std::int64_t W = width_;
  // Image by image, so that the row being summed stays in L1 (inside a parallel
  // region of the caller this runs on one thread).
  at::parallel_for(0, images_, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t e = begin; e < end; ++e) {
      float* to = out + e * W;
      std::copy_n(bias, W, to);
      for (std::int64_t r = 0; r < grid_.rows; ++r) {
        const float* from = z[r] + e * W;
        for (std::int64_t j = 0; j < W; ++j) to[j] += from[j];
      }
    }
  });
}

void RowProducts::replace(const float* sum, const float* const* before, const float* const* now, std::int64_t n,
                          float* out) const {
  at::parallel_for(0, floats(), 4096, [&](std::int64_t begin, std::int64_t end) {
    std::copy(sum + begin, sum + end, out + begin);
    for (std::int64_t t = 0; t < n; ++t)
      for (std::int64_t x = begin; x < end; ++x) out[x] += now[t][x] - before[t][x];
  });
}

}  // namespace tessera::scoring
