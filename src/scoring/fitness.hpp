// The adversary's scoring engine (docs/DESIGN.md section 3): how a candidate
// placement of the held blocks is scored, by every search, the assessment and the
// benchmarks. Its parts:
// - the tile cache: the target layer's input features X (E x in) are computed once,
//   and for every column c and held block k the tile T[c][k] = x_c W_k^T (E x bh)
//   (scoring::ColumnProducts, as the sweeps' product cache), so a candidate's
//   pre-activation is the bias plus H gathered tiles. When the tiles do not fit the
//   memory budget they are computed column chunk by column chunk per call; each
//   column's tiles are one GEMM either way and are added in the same order, so the
//   results are identical;
// - the population scorer (Fitness::evaluate): the steps after the target layer run
//   for a whole population at once (P*E rows, one GEMM per Linear); row slices that
//   recur from the last call are copied, not summed again (RowSlices);
// - the swap chain (scoring/swap_chain.hpp): a local search's moves, scored by the
//   row slices they touch (RowProducts);
// - the differentiable scorer (scoring/fitness_gradient.cpp): the loss as a function
//   of the target weight, for the searches that follow its gradient;
// - the metrics: models::tally.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "scoring/knowledge.hpp"
#include "blocks/grid.hpp"
#include "scoring/column_products.hpp"
#include "scoring/row_products.hpp"
#include "scoring/row_slices.hpp"
#include "models/metrics.hpp"
#include "blocks/genome.hpp"

namespace tessera::scoring {

enum class FitnessKind { accuracy, loss, fidelity };
// "accuracy", "loss" or "fidelity"; error naming --attack.fitness otherwise.
FitnessKind parse_fitness(const std::string& name);

// The held blocks of a genome in (column, block) order, as (column, block, row):
// adding tiles in this order makes the sums independent of how columns are chunked.
struct Placed {
  std::int32_t column, block, row;
};
std::vector<Placed> placed_by_column(const blocks::Genome& genome, std::int64_t held, std::int64_t cols);

// The scores of a population, one entry per member.
struct Scores {
  std::vector<double> fitness;   // higher is better: accuracy, -loss, or fidelity
  std::vector<double> accuracy;  // top-1 on the eval images, whatever the fitness kind
};

// The scores of `candidates` from their tallies on `images` eval images.
Scores scores_of(const models::Tallies& tallies, FitnessKind kind, std::int64_t candidates, std::int64_t images);

class GatherScorer;

class Fitness {
 public:
  // Caches the tiles when they take at most `cache_bytes`. On a `device` other than
  // the CPU (a GPU), whole populations (evaluate) and the differentiable scorer run
  // there, the population's tiles within `cache_bytes` too (an error names
  // `cache_option` otherwise); the swap chain's moves stay on the CPU.
  Fitness(Knowledge knowledge, FitnessKind kind, std::int64_t cache_bytes, torch::Device device = torch::kCPU,
          const std::string& cache_option = "--attack.cache_mb");
  ~Fitness();
  Fitness(const Fitness&) = delete;
  Fitness& operator=(const Fitness&) = delete;

  std::int64_t positions() const { return grid_.count(); }  // N, the genome length
  std::int64_t held() const { return held_; }                // H
  std::int64_t images() const { return images_; }           // E
  bool cached() const { return tiles_.defined(); }
  const RowSlices* row_slices() const { return row_slices_.get(); }      // when cached
  const RowProducts* row_products() const { return products_.get(); }  // when cached and possible
  // Flops of the GEMMs after the target layer for one candidate: the floor per evaluation.
  double floor_flops() const { return images_ * knowledge_.layer.after_flops_per_image; }
  // Candidates scored so far (every call of evaluate or score).
  std::int64_t evaluations() const { return evaluations_; }
  const Knowledge& knowledge() const { return knowledge_; }
  // Where the population scorer and the differentiable scorer run, and the
  // knowledge's tensors there (the same tensors on the CPU).
  torch::Device device() const;
  const Knowledge& on_device() const { return on_device_; }

  // A whole population in one call. Not const: the row slices kept from the last
  // call change, and the evaluations are counted.
  Scores evaluate(const std::vector<blocks::Genome>& population);

  // The swap chain's other path (and the tests'): a candidate's pre-activation
  // (E, out), updated in place by a swap move (genome as it was before the move),
  // and scored.
  torch::Tensor pre_activation(const blocks::Genome& genome);
  void apply_swap(torch::Tensor& pre_activation, const blocks::Genome& before, blocks::SwapMove move) const;
  // With `overwrite`, the pre-activations may be used as scratch space.
  Scores score(const torch::Tensor& pre_activations, std::int64_t candidates, bool overwrite = false);

  // The target weight (out, in) with the held blocks placed as `genome` says, zeros
  // elsewhere (an empty genome: all zeros).
  torch::Tensor weight_of(const blocks::Genome& genome) const;
  // The differentiable scorer (src/scoring/fitness_gradient.cpp): the gradient
  // (out, in) of the adversary's loss (the cross-entropy against the labels, or
  // against the service's answers for fidelity) with respect to the target layer's
  // weight, at the weight that places the held blocks as `genome` says (an empty
  // genome: no block placed, the weight all zeros).
  torch::Tensor loss_gradient(const blocks::Genome& genome) const;
  // The differentiable scorer for soft placements: the adversary's loss (as
  // loss_gradient's) at a weight (out, in) on device(), differentiable in the weight, and the
  // weight that puts blocks (N, bh, bw) at positions 0..N-1 (a soft placement's
  // blocks are mixtures of the held ones).
  torch::Tensor loss_at(const torch::Tensor& weight) const;
  torch::Tensor weight_from_blocks(const torch::Tensor& blocks) const;
  // The first-order change of that loss from putting held block k at position p,
  // <G_p, B_k> for the gradient's block G_p: (H, N), float64.
  torch::Tensor placement_costs(const torch::Tensor& gradient) const;

  // Candidates per pass through the layers after the target layer when the tiles are
  // cached: their activations stay in cache between the steps.
  static constexpr std::int64_t kChunkRows = 2000;

 private:
  friend class SwapChain;
  // The pre-activations (P, E, out) of a population.
  torch::Tensor build(const std::vector<blocks::Genome>& population);
  Scores score_logits(const torch::Tensor& logits, std::int64_t candidates);
  // The chain's product path: row `row`'s product (E, width) for a genome into `z`,
  // and the score of one candidate from its sum of products (E, width).
  void row_product(const blocks::Genome& genome, std::int64_t row, float* z) const;
  Scores score_sum(const torch::Tensor& sum);
  // Tiles of columns [first, last) (a chunk's) as (columns, H, E, bh), from the
  // cache or computed.
  torch::Tensor tiles(std::int64_t first, std::int64_t last) const;
  // One held block's tile in one column (E, bh): from the cache, or one small product
  // (a swap move needs four, not four columns of every held block's).
  torch::Tensor tile(std::int64_t column, std::int64_t block) const;
  // A candidate's pre-activation (E, out) by one dense product with its weight.
  torch::Tensor dense_pre_activation(const blocks::Genome& genome) const;
  // Adds the tiles of the genomes' blocks placed in columns [first, last) to `pre` (P, E, out).
  void add_tiles(float* pre, const std::vector<blocks::Genome>& population, const torch::Tensor& tiles,
                 std::int64_t first, std::int64_t last) const;

  Knowledge knowledge_;
  FitnessKind kind_;
  blocks::Grid grid_;
  std::int64_t held_ = 0, images_ = 0, chunk_columns_ = 0;
  std::vector<ColumnProducts> chunks_;  // the held blocks in every column, a chunk of columns each
  torch::Tensor tiles_;  // (C, H, E, bh) when cached
  torch::Tensor bias_;   // (out), contiguous
  std::int64_t evaluations_ = 0;
  std::unique_ptr<RowSlices> row_slices_;  // when cached: the sums of the last call kept
  std::unique_ptr<RowProducts> products_;  // when cached and the layers after allow it
  Knowledge on_device_;                     // knowledge_'s tensors on device()
  std::unique_ptr<GatherScorer> gather_;    // the population scorer on a device other than the CPU
};

}  // namespace tessera::scoring
