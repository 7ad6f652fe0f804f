#include "sweeps/evaluator.hpp"

#include <map>

#include "core/error.hpp"
#include "models/metrics.hpp"
#include "models/target_layer.hpp"

namespace tessera::sweeps {

namespace {
// One candidate's tallies (models/metrics.hpp) added to `tally`.
void add(Evaluator::Tally& tally, const torch::Tensor& logits, const torch::Tensor& labels,
         const torch::Tensor& reference) {
  const auto t = models::tally(logits, labels, reference, 1);
  tally.correct += t.correct[0];
  tally.loss += t.loss[0];
  tally.agree += t.agree[0];
}
}  // namespace

Evaluator::Evaluator(models::Network& victim, const std::string& layer, const blocks::Grid& grid,
                     const data::Split& eval)
    : grid_(grid), labels_(eval.labels) {
  torch::NoGradGuard no_grad;
  layer_ = models::split_at(victim, layer);
  weight_ = layer_.weight;
  bias_ = layer_.bias;
  features_ = layer_.features(eval.images);
  TESSERA_ASSERT(features_.size(1) == grid.in);

  auto logits = torch::addmm(bias_, features_, weight_.t());
  logits = layer_.after_layer(logits, /*overwrite_input=*/true);
  victim_predictions_ = logits.argmax(1);
  victim_ = rate(logits);
}

torch::Tensor Evaluator::bias_rows() const { return bias_rows(features_.size(0)); }
torch::Tensor Evaluator::bias_rows(std::int64_t rows) const { return bias_.expand({rows, grid_.out}).contiguous(); }

torch::Tensor Evaluator::block_weight(std::int64_t b) const {
  const auto r = grid_.row_of(b), c = grid_.col_of(b);
  return weight_.narrow(0, grid_.row_begin(r), grid_.height(r)).narrow(1, grid_.col_begin(c), grid_.width(c));
}

void Evaluator::add_products(torch::Tensor& y, const std::vector<std::int64_t>& held,
                             const std::vector<std::int64_t>& position, double sign) const {
  torch::NoGradGuard no_grad;
  TESSERA_ASSERT(held.size() == position.size());
  // Per block row, the held blocks sorted by the column they are placed at; a run
  // of adjacent columns is one GEMM on a strided view of X (no gather).
  std::map<std::int64_t, std::map<std::int64_t, std::int64_t>> placed;  // row -> column -> block
  for (std::size_t k = 0; k < held.size(); ++k)
    placed[grid_.row_of(position[k])][grid_.col_of(position[k])] = held[k];
  for (const auto& [r, columns] : placed) {
    auto out = y.narrow(1, grid_.row_begin(r), grid_.height(r));
    for (auto it = columns.begin(); it != columns.end();) {
      std::vector<torch::Tensor> run{block_weight(it->second)};
      const auto first = it->first;
      auto last = first;
      for (++it; it != columns.end() && it->first == last + 1; ++it, ++last) run.push_back(block_weight(it->second));
      const auto begin = grid_.col_begin(first), end = grid_.col_begin(last) + grid_.width(last);
      auto weights = run.size() == 1 ? run.front() : torch::cat(run, 1);
      out.addmm_(features_.narrow(1, begin, end - begin), weights.t(), /*beta=*/1, /*alpha=*/sign);
    }
  }
}

Score Evaluator::rate(const torch::Tensor& logits) const {
  Tally tally;
  tally.images = labels_.size(0);
  add(tally, logits, labels_, victim_predictions_);
  return score_of(tally);
}

Score Evaluator::score_pre_activation(const torch::Tensor& pre_activation) const {
  torch::NoGradGuard no_grad;
  return rate(layer_.after_layer(pre_activation));
}

Evaluator::Tally& Evaluator::Tally::operator+=(const Tally& other) {
  correct += other.correct;
  loss += other.loss;
  agree += other.agree;
  images += other.images;
  return *this;
}

Evaluator::Tally Evaluator::tally_pre_activation(const torch::Tensor& pre_activation, std::int64_t begin,
                                                bool overwrite) const {
  torch::NoGradGuard no_grad;
  const auto rows = pre_activation.size(0);
  Tally tally;
  tally.images = rows;
  add(tally, layer_.after_layer(pre_activation, overwrite), labels_.narrow(0, begin, rows),
      victim_predictions_.narrow(0, begin, rows));
  return tally;
}

Score Evaluator::score_of(const Tally& tally) const {
  TESSERA_ASSERT(tally.images == images(), "a tally covers the whole eval set");
  const double n = static_cast<double>(tally.images);
  return {tally.correct / n, tally.loss / n, tally.agree / n};
}

Score Evaluator::score(const std::vector<std::int64_t>& held, const std::vector<std::int64_t>& position) const {
  auto y = bias_rows();
  add_products(y, held, position);
  return score_pre_activation(y);
}

double Evaluator::floor_flops(std::int64_t held) const {
  const double block_flops = 2.0 * grid_.bh * grid_.bw;  // per image, a full-size block
  return static_cast<double>(images()) * (held * block_flops + layer_.after_flops_per_image);
}

}  // namespace tessera::sweeps
