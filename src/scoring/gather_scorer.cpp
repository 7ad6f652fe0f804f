#include "scoring/gather_scorer.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "models/metrics.hpp"

namespace tessera::scoring {

std::int64_t GatherScorer::tile_bytes(const Knowledge& knowledge) {
  const auto& g = knowledge.grid;
  return g.cols * knowledge.held.size(0) * knowledge.features.size(0) * g.bh * static_cast<std::int64_t>(sizeof(float));
}

GatherScorer::GatherScorer(const Knowledge& knowledge, FitnessKind kind, torch::Device device,
                           std::int64_t tile_budget, const std::string& budget_option)
    : kind_(kind), grid_(knowledge.grid), held_(knowledge.held.size(0)), images_(knowledge.features.size(0)) {
  torch::NoGradGuard no_grad;
  const auto bytes = tile_bytes(knowledge);
  TESSERA_REQUIRE(bytes <= tile_budget, budget_option, ": the scorer on ", device.str(), " keeps its tiles, ",
                  (bytes >> 20) + 1, " MiB, within this budget; raise it");
  layer_ = knowledge.layer.on_device(device);
  labels_ = knowledge.labels.to(device);
  victim_predictions_ = knowledge.victim_predictions.defined() ? knowledge.victim_predictions.to(device) : torch::Tensor();
  const std::int64_t C = grid_.cols, E = images_, H = held_, bh = grid_.bh, bw = grid_.bw;
  // Every column's features times every held block, one batched product: (C, E, bw) x (bw, H*bh).
  const auto features = knowledge.features.to(device).view({E, C, bw}).permute({1, 0, 2});
  const auto held_rows = knowledge.held.to(device).contiguous().view({H * bh, bw});
  tiles_ = torch::matmul(features, held_rows.t()).view({C, E, H, bh}).permute({0, 2, 1, 3}).contiguous()
               .view({C * H, E, bh});
}

torch::Tensor GatherScorer::pre_activations(const std::vector<blocks::Genome>& population, std::int64_t first,
                                            std::int64_t count) const {
  const std::int64_t R = grid_.rows, C = grid_.cols, E = images_, bh = grid_.bh;
  // Pass j adds the j-th block (in column order) of every (candidate, row).
  std::vector<std::vector<std::int64_t>> sources, rows;
  std::vector<std::int64_t> depth(count * R);
  for (std::int64_t i = 0; i < count; ++i) {
    for (const auto& p : placed_by_column(population[first + i], held_, C)) {
      const auto row = i * R + p.row;
      const auto pass = static_cast<std::size_t>(depth[row]++);
      if (pass == sources.size()) {
        sources.emplace_back();
        rows.emplace_back();
      }
      sources[pass].push_back(static_cast<std::int64_t>(p.column) * held_ + p.block);
      rows[pass].push_back(row);
    }
  }
  auto pre = torch::zeros({count * R, E, bh}, tiles_.options());
  const auto index = [&](const std::vector<std::int64_t>& v) { return torch::tensor(v, torch::kLong).to(device()); };
  for (std::size_t pass = 0; pass < sources.size(); ++pass)
    pre.index_add_(0, index(rows[pass]), tiles_.index_select(0, index(sources[pass])));
  // (P, R, E, bh) -> (P * E, out), then the bias.
  return pre.view({count, R, E, bh}).permute({0, 2, 1, 3}).reshape({count * E, R * bh}).add_(layer_.bias);
}

Scores GatherScorer::evaluate(const std::vector<blocks::Genome>& population) {
  torch::NoGradGuard no_grad;
  const auto P = static_cast<std::int64_t>(population.size());
  for (const auto& genome : population) TESSERA_ASSERT(static_cast<std::int64_t>(genome.size()) == grid_.count());
  const std::int64_t per_candidate = images_ * (grid_.out + held_ * grid_.bh) * static_cast<std::int64_t>(sizeof(float));
  const auto pass = std::max<std::int64_t>(1, kPassBytes / std::max<std::int64_t>(1, per_candidate));
  std::vector<torch::Tensor> logits;
  for (std::int64_t first = 0; first < P; first += pass) {
    const auto count = std::min(pass, P - first);
    logits.push_back(layer_.after_layer(pre_activations(population, first, count), /*overwrite_input=*/true));
  }
  const auto t = models::tally(logits.size() == 1 ? logits.front() : torch::cat(logits), labels_,
                               victim_predictions_, P, kind_ == FitnessKind::loss);
  return scores_of(t, kind_, P, images_);
}

}  // namespace tessera::scoring
