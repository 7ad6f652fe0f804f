#include "attack/layer_unknown.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "search/assignment.hpp"

namespace tessera::attack {

std::vector<CutLayer> cut_layers(const std::vector<blocks::Target>& targets) {
  std::vector<CutLayer> cut;
  for (const auto& t : targets) cut.push_back({t.layer, t.grid.count(), t.grid.in});
  return cut;
}

PooledLoot pool(const std::vector<Loot>& loots, std::uint64_t seed) {
  std::vector<torch::Tensor> held;
  std::vector<std::int32_t> layer;
  blocks::Genome position;
  for (std::size_t l = 0; l < loots.size(); ++l) {
    held.push_back(loots[l].held);
    layer.insert(layer.end(), loots[l].truth.size(), static_cast<std::int32_t>(l));
    position.insert(position.end(), loots[l].truth.begin(), loots[l].truth.end());
  }
  auto rng = make_rng(seed, "pool-order");
  const auto order = blocks::random_genome(static_cast<std::int32_t>(layer.size()), rng);
  PooledLoot pooled;
  pooled.held = torch::cat(held).index_select(0, torch::tensor(std::vector<std::int64_t>(order.begin(), order.end())))
                    .contiguous();
  for (auto k : order) {
    pooled.true_layer.push_back(layer[k]);
    pooled.true_position.push_back(position[k]);
  }
  return pooled;
}

std::vector<std::int32_t> assign_layers(const torch::Tensor& held, const std::vector<CutLayer>& layers) {
  const auto H = held.size(0), L = static_cast<std::int64_t>(layers.size());
  // Each block's log median magnitude: a scale that a few large trained weights do not move.
  auto scale = std::get<0>(held.abs().flatten(1).to(torch::kDouble).median(1)).clamp_min(1e-30).log().contiguous();
  const auto* x = scale.data_ptr<double>();
  double total = 0;
  for (const auto& l : layers) total += static_cast<double>(l.positions);
  // Per layer a Gaussian in the log scale: its mean starts at the initialisation's
  // (uniform in +-1/sqrt(fan-in): median magnitude 1/(2 sqrt(fan-in))).
  constexpr double kSpread = 0.25, kLeast = 0.05;
  std::vector<double> mean(L), spread(L, kSpread), log_prior(L);
  for (std::int64_t l = 0; l < L; ++l) {
    mean[l] = -std::log(2.0 * std::sqrt(static_cast<double>(layers[l].fan_in)));
    log_prior[l] = std::log(static_cast<double>(layers[l].positions) / total);
  }
  // Log-posterior of block k in layer l, up to a constant.
  std::vector<double> score(H * L);
  auto e_step = [&] {
    for (std::int64_t k = 0; k < H; ++k)
      for (std::int64_t l = 0; l < L; ++l) {
        const double z = (x[k] - mean[l]) / spread[l];
        score[k * L + l] = log_prior[l] - std::log(spread[l]) - 0.5 * z * z;
      }
  };
  for (int iteration = 0; iteration < 50; ++iteration) {
    e_step();
    std::vector<double> weight(L, 0), sum(L, 0), squares(L, 0);
    for (std::int64_t k = 0; k < H; ++k) {
      const double top = *std::max_element(&score[k * L], &score[k * L] + L);
      double norm = 0;
      for (std::int64_t l = 0; l < L; ++l) norm += std::exp(score[k * L + l] - top);
      for (std::int64_t l = 0; l < L; ++l) {
        const double r = std::exp(score[k * L + l] - top) / norm;
        weight[l] += r;
        sum[l] += r * x[k];
        squares[l] += r * x[k] * x[k];
      }
    }
    // A layer that takes (almost) no block keeps its prior.
    for (std::int64_t l = 0; l < L; ++l) {
      if (weight[l] < 2) continue;
      mean[l] = sum[l] / weight[l];
      spread[l] = std::max(kLeast, std::sqrt(std::max(0.0, squares[l] / weight[l] - mean[l] * mean[l])));
    }
  }
  e_step();
  // Most likely first; a full layer takes no more blocks.
  std::vector<std::int64_t> pairs(H * L);
  std::iota(pairs.begin(), pairs.end(), 0);
  std::stable_sort(pairs.begin(), pairs.end(), [&](auto a, auto b) { return score[a] > score[b]; });
  std::vector<std::int32_t> found(H, -1);
  std::vector<std::int64_t> room(L);
  for (std::int64_t l = 0; l < L; ++l) room[l] = layers[l].positions;
  for (auto pair : pairs) {
    const auto k = pair / L, l = pair % L;
    if (found[k] >= 0 || room[l] == 0) continue;
    found[k] = static_cast<std::int32_t>(l);
    --room[l];
  }
  return found;
}

double layer_recovery(const std::vector<std::int32_t>& found, const std::vector<std::int32_t>& truth) {
  TESSERA_ASSERT(found.size() == truth.size());
  if (found.empty()) return 0.0;
  std::size_t hits = 0;
  for (std::size_t k = 0; k < found.size(); ++k) hits += found[k] == truth[k];
  return static_cast<double>(hits) / static_cast<double>(found.size());
}

double chance_layer_recovery(const std::vector<std::int32_t>& found, const std::vector<std::int32_t>& truth,
                             std::size_t layers) {
  TESSERA_ASSERT(found.size() == truth.size());
  if (found.empty()) return 0.0;
  std::vector<double> in_found(layers, 0), in_truth(layers, 0);
  for (auto l : found) in_found[l] += 1;
  for (auto l : truth) in_truth[l] += 1;
  const double H = static_cast<double>(found.size());
  double expected = 0;
  for (std::size_t l = 0; l < layers; ++l) expected += in_found[l] * in_truth[l] / (H * H);
  return expected;
}

namespace {

// The hidden units between cut layer l and l + 1, in chunks: `rows` block rows of the
// lower layer and `cols` block columns of the upper one per chunk; sigma[true chunk]
// is the found chunk.
struct Boundary {
  std::int64_t rows = 1, cols = 1;
  std::vector<std::int32_t> sigma;
  // Where a true group (block row below, block column above) lands.
  std::int64_t map(std::int64_t group, std::int64_t per_chunk) const {
    return sigma[group / per_chunk] * per_chunk + group % per_chunk;
  }
};

}  // namespace

double aligned_recovery(const std::vector<PlacedLayer>& layers) {
  const auto L = layers.size();
  std::vector<std::optional<Boundary>> above(L);  // at the outputs of layer l
  for (std::size_t l = 0; l + 1 < L; ++l) {
    const auto &lower = layers[l].grid, &upper = layers[l + 1].grid;
    const auto chunk = std::lcm(lower.bh, upper.bw);
    if (!layers[l].feeds_next || lower.out % chunk != 0) continue;
    Boundary b{chunk / lower.bh, chunk / upper.bw, {}};
    b.sigma.resize(lower.out / chunk);
    std::iota(b.sigma.begin(), b.sigma.end(), 0);
    above[l] = b;
  }
  auto row_ok = [&](std::size_t l, std::int64_t found, std::int64_t truth) {
    return above[l] ? above[l]->map(truth, above[l]->rows) == found : truth == found;
  };
  auto col_ok = [&](std::size_t l, std::int64_t found, std::int64_t truth) {
    return l > 0 && above[l - 1] ? above[l - 1]->map(truth, above[l - 1]->cols) == found : truth == found;
  };
  // Visits every block of layer l placed there and truly there: (found row, column, true row, column).
  auto each_block = [&](std::size_t l, auto&& visit) {
    const auto& layer = layers[l];
    const auto C = layer.grid.cols;
    for (std::size_t k = 0; k < layer.found.size(); ++k)
      if (layer.truth[k] >= 0) visit(layer.found[k] / C, layer.found[k] % C, layer.truth[k] / C, layer.truth[k] % C);
  };
  for (int sweep = 0; sweep < 10; ++sweep) {
    bool changed = false;
    for (std::size_t l = 0; l + 1 < L; ++l) {
      if (!above[l]) continue;
      auto& b = *above[l];
      const auto n = static_cast<std::int64_t>(b.sigma.size());
      // cost[true chunk][found chunk]: minus the blocks that chunk pairing recovers.
      std::vector<double> cost(n * n, 0);
      each_block(l, [&](std::int64_t rf, std::int64_t cf, std::int64_t rt, std::int64_t ct) {
        if (col_ok(l, cf, ct) && rf % b.rows == rt % b.rows) cost[(rt / b.rows) * n + rf / b.rows] -= 1;
      });
      each_block(l + 1, [&](std::int64_t rf, std::int64_t cf, std::int64_t rt, std::int64_t ct) {
        if (row_ok(l + 1, rf, rt) && cf % b.cols == ct % b.cols) cost[(ct / b.cols) * n + cf / b.cols] -= 1;
      });
      auto sigma = search::solve_assignment(cost, n, n);
      changed = changed || sigma != b.sigma;
      b.sigma = std::move(sigma);
    }
    if (!changed) break;
  }
  double hits = 0, placed = 0;
  for (std::size_t l = 0; l < L; ++l) {
    placed += static_cast<double>(layers[l].found.size());
    each_block(l, [&](std::int64_t rf, std::int64_t cf, std::int64_t rt, std::int64_t ct) {
      hits += row_ok(l, rf, rt) && col_ok(l, cf, ct);
    });
  }
  return placed > 0 ? hits / placed : 0.0;
}

}  // namespace tessera::attack
