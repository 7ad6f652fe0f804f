#include "scoring/fitness.hpp"

#include <ATen/Parallel.h>

#include <algorithm>

#include "core/error.hpp"
#include "models/metrics.hpp"
#include "scoring/gather_scorer.hpp"

namespace tessera::scoring {

FitnessKind parse_fitness(const std::string& name) {
  if (name == "accuracy") return FitnessKind::accuracy;
  if (name == "loss") return FitnessKind::loss;
  if (name == "fidelity") return FitnessKind::fidelity;
  throw Error("--attack.fitness: '" + name + "' is not one of accuracy, loss, fidelity");
}

Fitness::Fitness(Knowledge knowledge, FitnessKind kind, std::int64_t cache_bytes, torch::Device device,
                 const std::string& cache_option)
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
  // Every column multiplies by all held blocks: one matrix, shared, not copied.
  const auto held_rows = knowledge_.held.view({held_ * grid_.bh, grid_.bw});
  for (std::int64_t first = 0; first < grid_.cols; first += chunk_columns_) {
    chunks_.emplace_back(grid_);
    for (auto c = first; c < std::min(grid_.cols, first + chunk_columns_); ++c) chunks_.back().add(c, held_rows);
    chunks_.back().finish();
  }
  if (chunk_columns_ == grid_.cols) {
    tiles_ = tiles(0, grid_.cols);
    row_slices_ = std::make_unique<RowSlices>(grid_, tiles_, bias_);
    products_ = RowProducts::make(knowledge_.layer, grid_, images_);
  }
  on_device_ = knowledge_;
  if (!device.is_cpu()) {
    gather_ = std::make_unique<GatherScorer>(knowledge_, kind_, device, cache_bytes, cache_option);
    torch::NoGradGuard no_grad;
    on_device_.layer = knowledge_.layer.on_device(device);
    on_device_.features = knowledge_.features.to(device);
    on_device_.labels = knowledge_.labels.to(device);
    if (knowledge_.victim_predictions.defined()) on_device_.victim_predictions = knowledge_.victim_predictions.to(device);
    on_device_.held = knowledge_.held.to(device);
  }
}

Fitness::~Fitness() = default;

torch::Device Fitness::device() const { return on_device_.held.device(); }

torch::Tensor Fitness::tiles(std::int64_t first, std::int64_t last) const {
  if (tiles_.defined()) return tiles_.narrow(0, first, last - first);
  torch::NoGradGuard no_grad;
  TESSERA_ASSERT(first % chunk_columns_ == 0 && last == std::min(grid_.cols, first + chunk_columns_));
  const auto& chunk = chunks_[first / chunk_columns_];
  auto image_major = torch::empty({images_, chunk.width()});
  chunk.compute(knowledge_.features, image_major);
  // (E, n, H, bh) -> (n, H, E, bh): a block's tile in a column is one contiguous E x bh run.
  return image_major.view({images_, last - first, held_, grid_.bh}).permute({1, 2, 0, 3}).contiguous();
}

torch::Tensor Fitness::tile(std::int64_t column, std::int64_t block) const {
  if (tiles_.defined()) return tiles_[column][block];
  torch::NoGradGuard no_grad;
  return torch::mm(knowledge_.features.narrow(1, column * grid_.bw, grid_.bw), knowledge_.held[block].t());
}

std::vector<Placed> placed_by_column(const blocks::Genome& genome, std::int64_t held, std::int64_t cols) {
  std::vector<Placed> placed(held);
  for (std::int64_t k = 0; k < held; ++k)
    placed[k] = {static_cast<std::int32_t>(genome[k] % cols), static_cast<std::int32_t>(k),
                 static_cast<std::int32_t>(genome[k] / cols)};
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) { return a.column < b.column; });
  return placed;
}

void Fitness::add_tiles(float* pre, const std::vector<blocks::Genome>& population, const torch::Tensor& tiles,
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

torch::Tensor Fitness::build(const std::vector<blocks::Genome>& population) {
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

Scores Fitness::evaluate(const std::vector<blocks::Genome>& population) {
  torch::NoGradGuard no_grad;
  const std::int64_t P = population.size(), E = images_, out = grid_.out;
  if (gather_) {
    evaluations_ += P;
    return gather_->evaluate(population);
  }
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

void Fitness::row_product(const blocks::Genome& genome, std::int64_t row, float* z) const {
  std::vector<float> slice(images_ * grid_.bh);
  row_slices_->slice_of(genome, row, slice.data());
  products_->product(slice.data(), row, z);
}

Scores Fitness::score_sum(const torch::Tensor& sum) {
  // Not in place: the chain keeps the sum.
  return score_logits(knowledge_.layer.after_layer(sum, /*overwrite_input=*/false, products_->next_step()), 1);
}

// Uncached, one candidate's dense product is H/R times cheaper than its tiles (the
// annealing rebuilds its chain from here every generation).
torch::Tensor Fitness::pre_activation(const blocks::Genome& genome) {
  return cached() || held_ <= grid_.rows ? build({genome})[0] : dense_pre_activation(genome);
}

torch::Tensor Fitness::dense_pre_activation(const blocks::Genome& genome) const {
  torch::NoGradGuard no_grad;
  return torch::addmm(bias_, knowledge_.features, weight_of(genome).t());
}

void Fitness::apply_swap(torch::Tensor& pre, const blocks::Genome& before, blocks::SwapMove move) const {
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

Scores Fitness::score(const torch::Tensor& pre, std::int64_t candidates, bool overwrite) {
  torch::NoGradGuard no_grad;
  return score_logits(knowledge_.layer.after_layer(pre, overwrite), candidates);
}

Scores Fitness::score_logits(const torch::Tensor& logits, std::int64_t candidates) {
  evaluations_ += candidates;
  return scores_of(models::tally(logits, knowledge_.labels, knowledge_.victim_predictions, candidates,
                                 kind_ == FitnessKind::loss),
                   kind_, candidates, images_);
}

Scores scores_of(const models::Tallies& t, FitnessKind kind, std::int64_t candidates, std::int64_t images) {
  const auto E = static_cast<double>(images);
  Scores result;
  for (std::int64_t i = 0; i < candidates; ++i) {
    result.accuracy.push_back(t.correct[i] / E);
    switch (kind) {
      case FitnessKind::accuracy: result.fitness.push_back(t.correct[i] / E); break;
      case FitnessKind::fidelity: result.fitness.push_back(t.agree[i] / E); break;
      case FitnessKind::loss: result.fitness.push_back(-t.loss[i] / E); break;
    }
  }
  return result;
}

}  // namespace tessera::scoring
