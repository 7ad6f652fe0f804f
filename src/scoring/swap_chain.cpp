#include "scoring/swap_chain.hpp"

#include <ATen/Parallel.h>

#include "core/error.hpp"

namespace tessera::scoring {

SwapChain::SwapChain(Fitness& fitness, const blocks::Genome& genome) : fitness_(&fitness), genome_(genome) {
  torch::NoGradGuard no_grad;
  TESSERA_ASSERT(static_cast<std::int64_t>(genome.size()) == fitness.positions());
  const auto* row_products = fitness.products_.get();
  if (!row_products) {
    pre_ = fitness.pre_activation(genome);
    evaluation_ = fitness.score(pre_, 1);
    return;
  }
  const std::int64_t R = fitness.grid_.rows, F = row_products->floats();
  products_ = torch::empty({R, F});
  float* z = products_.data_ptr<float>();
  at::parallel_for(0, R, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) fitness.row_product(genome, r, z + r * F);
  });
  std::vector<const float*> pointers(R);
  for (std::int64_t r = 0; r < R; ++r) pointers[r] = z + r * F;
  sum_ = torch::empty({fitness.images(), row_products->width()});
  row_products->sum(pointers.data(), sum_.data_ptr<float>());
  evaluation_ = fitness.score_sum(sum_);
}

const Scores& SwapChain::try_swap(blocks::SwapMove move) {
  TESSERA_ASSERT(fitness_, "a chain to move");
  torch::NoGradGuard no_grad;
  auto& fitness = *fitness_;
  moved_ = genome_;
  blocks::apply_swap(moved_, move);
  const auto* row_products = fitness.products_.get();
  if (!row_products) {
    moved_pre_ = pre_.clone();
    fitness.apply_swap(moved_pre_, genome_, move);
    moved_evaluation_ = fitness.score(moved_pre_, 1);
    return moved_evaluation_;
  }
  const std::int64_t C = fitness.grid_.cols, F = row_products->floats();
  rows_ = {genome_[move.i] / C};
  if (genome_[move.j] / C != rows_[0]) rows_.push_back(genome_[move.j] / C);
  const auto n = static_cast<std::int64_t>(rows_.size());
  moved_products_ = torch::empty({n, F});
  std::vector<const float*> before(n), now(n);
  for (std::int64_t t = 0; t < n; ++t) {
    float* z = moved_products_.data_ptr<float>() + t * F;
    fitness.row_product(moved_, rows_[t], z);
    before[t] = products_.data_ptr<float>() + rows_[t] * F;
    now[t] = z;
  }
  moved_sum_ = torch::empty_like(sum_);
  row_products->replace(sum_.data_ptr<float>(), before.data(), now.data(), n, moved_sum_.data_ptr<float>());
  moved_evaluation_ = fitness.score_sum(moved_sum_);
  return moved_evaluation_;
}

void SwapChain::accept() {
  TESSERA_ASSERT(fitness_ && moved_.size() == genome_.size(), "a move tried before accept");
  genome_ = std::move(moved_);
  moved_.clear();
  evaluation_ = moved_evaluation_;
  if (!products_.defined()) {
    pre_ = std::move(moved_pre_);
    return;
  }
  sum_ = std::move(moved_sum_);
  for (std::size_t t = 0; t < rows_.size(); ++t) products_[rows_[t]].copy_(moved_products_[static_cast<std::int64_t>(t)]);
}

}  // namespace tessera::scoring
