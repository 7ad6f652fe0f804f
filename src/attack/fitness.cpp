#include "attack/fitness.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

#include "core/error.hpp"
#include "models/metrics.hpp"

namespace tessera::attack {

FitnessKind parse_fitness(const std::string& name) {
  if (name == "accuracy") return FitnessKind::accuracy;
  if (name == "loss") return FitnessKind::loss;
  if (name == "fidelity") return FitnessKind::fidelity;
  throw Error("--attack.fitness: '" + name + "' is not one of accuracy, loss, fidelity");
}

Fitness::Fitness(Knowledge knowledge, FitnessKind kind, std::int64_t cache_bytes)
    : knowledge_(std::move(knowledge)), kind_(kind), grid_(knowledge_.grid) {
  TESSERA_ASSERT(grid_.out % grid_.bh == 0 && grid_.in % grid_.bw == 0);
  held_ = knowledge_.held.size(0);
  images_ = knowledge_.features.size(0);
  TESSERA_ASSERT(knowledge_.held.size(1) == grid_.bh && knowledge_.held.size(2) == grid_.bw);
  knowledge_.features = knowledge_.features.contiguous();
  knowledge_.held = knowledge_.held.contiguous();
  const std::int64_t column_bytes = held_ * images_ * grid_.bh * static_cast<std::int64_t>(sizeof(float));
  chunk_columns_ = std::max<std::int64_t>(1, std::min(grid_.cols, cache_bytes / std::max<std::int64_t>(1, column_bytes)));
  bias_ = knowledge_.layer.bias.contiguous();
  if (chunk_columns_ == grid_.cols) {
    tiles_ = tiles(0, grid_.cols);
    row_slices_ = std::make_unique<RowSlices>(grid_, tiles_, bias_);
    products_ = RowProducts::make(knowledge_.layer, grid_, images_);
  }
}

torch::Tensor Fitness::tiles(std::int64_t first, std::int64_t last) const {
  if (tiles_.defined()) return tiles_.narrow(0, first, last - first);
  torch::NoGradGuard no_grad;
  const auto n = last - first, E = images_, H = held_, bh = grid_.bh, bw = grid_.bw;
  // One GEMM for the chunk: (n*E, bw) x (bw, H*bh), then (n, H, E, bh) so that a
  // block's tile in a column is one contiguous E x bh run.
  auto x = knowledge_.features.narrow(1, first * bw, n * bw).reshape({E, n, bw}).permute({1, 0, 2}).reshape({n * E, bw});
  auto products = torch::mm(x, knowledge_.held.reshape({H * bh, bw}).t());
  return products.reshape({n, E, H, bh}).permute({0, 2, 1, 3}).contiguous();
}

torch::Tensor Fitness::tile(std::int64_t column, std::int64_t block) const {
  if (tiles_.defined()) return tiles_[column][block];
  torch::NoGradGuard no_grad;
  return torch::mm(knowledge_.features.narrow(1, column * grid_.bw, grid_.bw), knowledge_.held[block].t());
}

namespace {

// The held blocks of a genome in (column, block) order, as (column, block, row):
// adding tiles in this order makes the sums independent of how columns are chunked.
struct Placed {
  std::int32_t column, block, row;
};
std::vector<Placed> placed_by_column(const search::Genome& genome, std::int64_t held, std::int64_t cols) {
  std::vector<Placed> placed(held);
  for (std::int64_t k = 0; k < held; ++k)
    placed[k] = {static_cast<std::int32_t>(genome[k] % cols), static_cast<std::int32_t>(k),
                 static_cast<std::int32_t>(genome[k] / cols)};
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.column < b.column; });
  return placed;
}

}  // namespace

void Fitness::add_tiles(float* pre, const std::vector<search::Genome>& population, const torch::Tensor& tiles,
                        std::int64_t first, std::int64_t last) const {
  const std::int64_t E = images_, H = held_, bh = grid_.bh, out = grid_.out, C = grid_.cols;
  const float* tile_data = tiles.data_ptr<float>();
  at::parallel_for(0, static_cast<std::int64_t>(population.size()), 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      float* candidate = pre + i * E * out;
      for (const auto& p : placed_by_column(population[i], H, C)) {
        if (p.column < first || p.column >= last) continue;
        const float* tile = tile_data + ((p.column - first) * H + p.block) * E * bh;
        float* rows = candidate + p.row * bh;
        for (std::int64_t e = 0; e < E; ++e)
          for (std::int64_t j = 0; j < bh; ++j) rows[e * out + j] += tile[e * bh + j];
      }
    }
  });
}

torch::Tensor Fitness::build(const std::vector<search::Genome>& population) const {
  torch::NoGradGuard no_grad;
  const std::int64_t P = population.size(), E = images_, out = grid_.out;
  for (const auto& genome : population) TESSERA_ASSERT(static_cast<std::int64_t>(genome.size()) == grid_.count());
  if (!cached()) {
    auto pre = bias_.reshape({1, 1, out}).expand({P, E, out}).contiguous();
    for (std::int64_t first = 0; first < grid_.cols; first += chunk_columns_) {
      const auto last = std::min(grid_.cols, first + chunk_columns_);
      add_tiles(pre.data_ptr<float>(), population, tiles(first, last), first, last);
    }
    return pre;
  }
  return row_slices_->build(population);
}

Scores Fitness::evaluate(const std::vector<search::Genome>& population) const {
  torch::NoGradGuard no_grad;
  const std::int64_t P = population.size(), E = images_, out = grid_.out;
  if (!cached() && P * grid_.rows < held_) {
    // Uncached tiles cost H/R times one dense product per call: for a few candidates
    // (a descent's one) each candidate's weight times the features is cheaper.
    std::vector<torch::Tensor> pre;
    for (const auto& genome : population) pre.push_back(dense_pre_activation(genome));
    return score(torch::cat(pre), P, /*overwrite=*/true);
  }
  if (!cached()) return score(build(population).view({P * E, out}), P, /*overwrite=*/true);
  for (const auto& genome : population) TESSERA_ASSERT(static_cast<std::int64_t>(genome.size()) == grid_.count());
  // Chunk by chunk: the row slices are written (with the layer's ReLU when it comes
  // first) into a buffer that the next GEMM reads while it is still in cache.
  const auto& after = knowledge_.layer.after;
  const bool relu_first = !after.empty() && after.front().relu;
  const std::int64_t chunk = std::max<std::int64_t>(1, kChunkRows / E);
  row_slices_->prepare(population);
  std::vector<torch::Tensor> logits;
  for (std::int64_t first = 0; first < P; first += chunk) {
    const auto count = std::min(chunk, P - first);
    auto pre = torch::empty({count * E, out});
    row_slices_->fill(pre.data_ptr<float>(), first, count, relu_first);
    logits.push_back(knowledge_.layer.after_layer(pre, /*overwrite_input=*/true, relu_first ? 1 : 0));
  }
  return score_logits(logits.size() == 1 ? logits.front() : torch::cat(logits), P);
}

Fitness::Chain Fitness::chain(const search::Genome& genome) const {
  torch::NoGradGuard no_grad;
  TESSERA_ASSERT(static_cast<std::int64_t>(genome.size()) == grid_.count());
  Chain chain;
  chain.genome = genome;
  if (!products_) {
    chain.pre = pre_activation(genome);
    chain.evaluation = score(chain.pre, 1);
    return chain;
  }
  const std::int64_t R = grid_.rows, F = products_->floats();
  chain.products = torch::empty({R, F});
  float* z = chain.products.data_ptr<float>();
  at::parallel_for(0, R, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) row_product(genome, r, z + r * F);
  });
  std::vector<const float*> pointers(R);
  for (std::int64_t r = 0; r < R; ++r) pointers[r] = z + r * F;
  chain.sum = torch::empty({images_, products_->width()});
  products_->sum(pointers.data(), chain.sum.data_ptr<float>());
  chain.evaluation = score_sum(chain.sum);
  return chain;
}

void Fitness::row_product(const search::Genome& genome, std::int64_t row, float* z) const {
  std::vector<float> slice(images_ * grid_.bh);
  row_slices_->slice_of(genome, row, slice.data());
  products_->product(slice.data(), row, z);
}

Scores Fitness::score_sum(const torch::Tensor& sum) const {
  // Not in place: the chain keeps the sum.
  return score_logits(knowledge_.layer.after_layer(sum, /*overwrite_input=*/false, products_->next_step()), 1);
}

const Scores& Fitness::try_swap(Chain& chain, search::SwapMove move) const {
  torch::NoGradGuard no_grad;
  chain.moved = chain.genome;
  search::apply_swap(chain.moved, move);
  if (!products_) {
    chain.moved_pre = chain.pre.clone();
    apply_swap(chain.moved_pre, chain.genome, move);
    chain.moved_evaluation = score(chain.moved_pre, 1);
    return chain.moved_evaluation;
  }
  const std::int64_t C = grid_.cols, F = products_->floats();
  chain.rows = {chain.genome[move.i] / C};
  if (chain.genome[move.j] / C != chain.rows[0]) chain.rows.push_back(chain.genome[move.j] / C);
  const auto n = static_cast<std::int64_t>(chain.rows.size());
  chain.moved_products = torch::empty({n, F});
  std::vector<const float*> before(n), now(n);
  for (std::int64_t t = 0; t < n; ++t) {
    float* z = chain.moved_products.data_ptr<float>() + t * F;
    row_product(chain.moved, chain.rows[t], z);
    before[t] = chain.products.data_ptr<float>() + chain.rows[t] * F;
    now[t] = z;
  }
  chain.moved_sum = torch::empty_like(chain.sum);
  products_->replace(chain.sum.data_ptr<float>(), before.data(), now.data(), n, chain.moved_sum.data_ptr<float>());
  chain.moved_evaluation = score_sum(chain.moved_sum);
  return chain.moved_evaluation;
}

void Fitness::accept(Chain& chain) const {
  chain.genome = std::move(chain.moved);
  chain.evaluation = chain.moved_evaluation;
  if (!products_) {
    chain.pre = std::move(chain.moved_pre);
    return;
  }
  chain.sum = std::move(chain.moved_sum);
  for (std::size_t t = 0; t < chain.rows.size(); ++t)
    chain.products[chain.rows[t]].copy_(chain.moved_products[static_cast<std::int64_t>(t)]);
}

// Uncached, one candidate's dense product is H/R times cheaper than its tiles (the
// annealing rebuilds its chain from here every generation).
torch::Tensor Fitness::pre_activation(const search::Genome& genome) const {
  return cached() || held_ <= grid_.rows ? build({genome})[0] : dense_pre_activation(genome);
}

torch::Tensor Fitness::dense_pre_activation(const search::Genome& genome) const {
  torch::NoGradGuard no_grad;
  return torch::addmm(bias_, knowledge_.features, weight_of(genome).t());
}

void Fitness::apply_swap(torch::Tensor& pre, const search::Genome& before, search::SwapMove move) const {
  torch::NoGradGuard no_grad;
  const auto C = grid_.cols, bh = grid_.bh;
  auto shift = [&](std::int64_t block, std::int64_t from, std::int64_t to) {
    if (block >= held_) return;  // an empty position: nothing moves
    pre.narrow(1, (from / C) * bh, bh).sub_(tile(from % C, block));
    pre.narrow(1, (to / C) * bh, bh).add_(tile(to % C, block));
  };
  const std::int64_t pi = before[move.i], pj = before[move.j];
  shift(move.i, pi, pj);
  shift(move.j, pj, pi);
}

Scores Fitness::score(const torch::Tensor& pre, std::int64_t candidates, bool overwrite) const {
  torch::NoGradGuard no_grad;
  return score_logits(knowledge_.layer.after_layer(pre, overwrite), candidates);
}

Scores Fitness::score_logits(const torch::Tensor& logits, std::int64_t candidates) const {
  const auto E = static_cast<double>(images_);
  evaluations_ += candidates;
  const auto t = models::tally(logits, knowledge_.labels, knowledge_.victim_predictions, candidates,
                               kind_ == FitnessKind::loss);
  Scores result;
  for (std::int64_t i = 0; i < candidates; ++i) {
    result.accuracy.push_back(t.correct[i] / E);
    switch (kind_) {
      case FitnessKind::accuracy: result.fitness.push_back(t.correct[i] / E); break;
      case FitnessKind::fidelity: result.fitness.push_back(t.agree[i] / E); break;
      case FitnessKind::loss: result.fitness.push_back(-t.loss[i] / E); break;
    }
  }
  return result;
}

}  // namespace tessera::attack
