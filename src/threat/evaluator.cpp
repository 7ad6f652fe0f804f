#include "threat/evaluator.hpp"

#include <map>

#include "core/error.hpp"

namespace tessera::threat {

namespace {
constexpr std::int64_t kChunk = 1000;  // images per forward pass while computing the features
}

Evaluator::Evaluator(models::Network& victim, const std::string& layer, const blocks::Grid& grid,
                     const data::Split& eval)
    : grid_(grid), labels_(eval.labels) {
  torch::NoGradGuard no_grad;
  victim.eval();
  const auto& steps = victim.steps();
  std::size_t target = 0;
  while (target < steps.size() && steps[target].name != layer) ++target;
  TESSERA_REQUIRE(target < steps.size() && steps[target].linear, "--blocks.layers: '", layer,
                  "' is not a Linear layer of the model");
  weight_ = steps[target].linear->weight.detach().contiguous();
  bias_ = steps[target].linear->bias.defined() ? steps[target].linear->bias.detach() : torch::zeros({grid.out});
  after_.assign(steps.begin() + target + 1, steps.end());
  for (const auto& step : after_)
    if (step.linear) after_flops_per_image_ += 2.0 * step.linear->weight.numel();

  std::vector<torch::Tensor> chunks;
  for (std::int64_t begin = 0; begin < eval.size(); begin += kChunk) {
    auto x = eval.images.narrow(0, begin, std::min(kChunk, eval.size() - begin));
    for (std::size_t i = 0; i < target; ++i) x = steps[i].apply(x);
    chunks.push_back(x);
  }
  features_ = torch::cat(chunks).contiguous();
  TESSERA_ASSERT(features_.size(1) == grid.in);

  auto logits = torch::addmm(bias_, features_, weight_.t());
  for (const auto& step : after_) logits = step.apply(logits);
  victim_predictions_ = logits.argmax(1);
  victim_ = rate(logits);
}

torch::Tensor Evaluator::bias_rows() const { return bias_.expand({features_.size(0), grid_.out}).contiguous(); }

void Evaluator::add_products(torch::Tensor& y, const std::vector<std::int64_t>& held,
                             const std::vector<std::int64_t>& position, double sign) const {
  torch::NoGradGuard no_grad;
  TESSERA_ASSERT(held.size() == position.size());
  // Per block row, the held blocks sorted by the column they are placed at; a run
  // of adjacent columns is one GEMM on a strided view of X (no gather).
  std::map<std::int64_t, std::map<std::int64_t, std::int64_t>> placed;  // row -> column -> block
  for (std::size_t k = 0; k < held.size(); ++k)
    placed[grid_.row_of(position[k])][grid_.col_of(position[k])] = held[k];
  auto block = [&](std::int64_t b) {
    return weight_.narrow(0, grid_.row_begin(grid_.row_of(b)), grid_.height(grid_.row_of(b)))
        .narrow(1, grid_.col_begin(grid_.col_of(b)), grid_.width(grid_.col_of(b)));
  };
  for (const auto& [r, columns] : placed) {
    auto out = y.narrow(1, grid_.row_begin(r), grid_.height(r));
    for (auto it = columns.begin(); it != columns.end();) {
      std::vector<torch::Tensor> run{block(it->second)};
      const auto first = it->first;
      auto last = first;
      for (++it; it != columns.end() && it->first == last + 1; ++it, ++last) run.push_back(block(it->second));
      const auto begin = grid_.col_begin(first), end = grid_.col_begin(last) + grid_.width(last);
      auto weights = run.size() == 1 ? run.front() : torch::cat(run, 1);
      out.addmm_(features_.narrow(1, begin, end - begin), weights.t(), /*beta=*/1, /*alpha=*/sign);
    }
  }
}

Score Evaluator::rate(const torch::Tensor& logits) const {
  Score score;
  const double n = static_cast<double>(labels_.size(0));
  auto predictions = logits.argmax(1);
  score.accuracy = predictions.eq(labels_).sum().item<double>() / n;
  score.loss = torch::nn::functional::cross_entropy(logits, labels_).item<double>();
  score.fidelity = victim_predictions_.defined() ? predictions.eq(victim_predictions_).sum().item<double>() / n : 1.0;
  return score;
}

Score Evaluator::score_pre_activation(const torch::Tensor& pre_activation) const {
  torch::NoGradGuard no_grad;
  auto x = pre_activation;
  for (const auto& step : after_) x = step.apply(x);
  return rate(x);
}

Score Evaluator::score(const std::vector<std::int64_t>& held, const std::vector<std::int64_t>& position) const {
  auto y = bias_rows();
  add_products(y, held, position);
  return score_pre_activation(y);
}

double Evaluator::floor_flops(std::int64_t held) const {
  const double block_flops = 2.0 * grid_.bh * grid_.bw;  // per image, a full-size block
  return static_cast<double>(images()) * (held * block_flops + after_flops_per_image_);
}

}  // namespace tessera::threat
