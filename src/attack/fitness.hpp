// The adversary's fitness function with the tile cache of docs/DESIGN.md section 3. The
// target layer's input features X (E x in) are computed once; for every column c and
// held block k the tile T[c][k] = x_c W_k^T (E x bh) is precomputed, so a candidate's
// pre-activation is the bias plus H gathered tiles, and a swap changes only the row
// slices it touches. The steps after the target layer run for a whole population at
// once (P*E rows, one GEMM per Linear); row slices that recur from the last call
// are copied, not summed again (RowSlices). A swap move goes through the next Linear
// as per-slice products (RowProducts). When the tiles do not fit the memory budget
// they are computed column chunk by column chunk per call; the sums are made in the
// same order either way, so the results are identical.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "attack/row_products.hpp"
#include "attack/row_slices.hpp"
#include "blocks/grid.hpp"
#include "models/target_layer.hpp"
#include "search/operators.hpp"

namespace tessera::attack {

enum class FitnessKind { accuracy, loss, fidelity };
// "accuracy", "loss" or "fidelity"; error naming --attack.fitness otherwise.
FitnessKind parse_fitness(const std::string& name);

// What the adversary has: the rest of the model (the steps after the target layer
// and the layer's bias, never its weight), its eval images' features and labels, the
// service's answers on them, and the hijacked blocks, in the order they arrived.
struct Knowledge {
  blocks::Grid grid;               // blocks of one shape: every held block fits every position
  models::TargetLayer layer;       // `weight` left undefined
  torch::Tensor features;          // (E, in)
  torch::Tensor labels;            // (E) int64
  torch::Tensor victim_predictions;  // (E) int64: the service's top-1 answers
  torch::Tensor held;              // (H, bh, bw)
  // The architecture and every other trained weight matrix (name -> tensor, the
  // state_dict's names), for the searches that compare with regenerated initial
  // weights; `target_parameter` is the target weight's name ("classifier.0.weight").
  std::string arch, target_parameter;
  std::vector<std::pair<std::string, torch::Tensor>> known_parameters;
};

// The scores of a population, one entry per member.
struct Scores {
  std::vector<double> fitness;   // higher is better: accuracy, -loss, or fidelity
  std::vector<double> accuracy;  // top-1 on the eval images, whatever the fitness kind
};

class Fitness {
 public:
  // Caches the tiles when they take at most `cache_bytes`.
  Fitness(Knowledge knowledge, FitnessKind kind, std::int64_t cache_bytes);

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

  // A whole population in one call. One call at a time: the kept row slices change.
  Scores evaluate(const std::vector<search::Genome>& population) const;

  // Local search by swap moves from one genome. With cached tiles and RowProducts a
  // move sums the (at most two) row slices it touches and their products, and scores
  // the chain's sum of products with those replaced: 2/R of the next Linear's GEMM.
  // Otherwise the pre-activation is updated in place. Either way round-off from the
  // updates builds up along the chain: start a new chain now and then (the annealing
  // does every generation).
  struct Chain {
    search::Genome genome;
    Scores evaluation;
    torch::Tensor products, sum;  // (R, E, width) and (E, width): the product path
    torch::Tensor pre;            // (E, out): the other path
    // The last move tried: its genome, the rows it touched and their new products,
    // and its sum or pre.
    search::Genome moved;
    std::vector<std::int64_t> rows;
    torch::Tensor moved_products, moved_sum, moved_pre;
    Scores moved_evaluation;
  };
  Chain chain(const search::Genome& genome) const;
  const Scores& try_swap(Chain& chain, search::SwapMove move) const;
  void accept(Chain& chain) const;  // the move tried last

  // The chain's other path (and the tests'): a candidate's pre-activation (E, out),
  // updated in place by a swap move (genome as it was before the move), and scored.
  torch::Tensor pre_activation(const search::Genome& genome) const;
  void apply_swap(torch::Tensor& pre_activation, const search::Genome& before, search::SwapMove move) const;
  // With `overwrite`, the pre-activations may be used as scratch space.
  Scores score(const torch::Tensor& pre_activations, std::int64_t candidates, bool overwrite = false) const;

  // The target weight (out, in) with the held blocks placed as `genome` says, zeros
  // elsewhere (an empty genome: all zeros).
  torch::Tensor weight_of(const search::Genome& genome) const;
  // The differentiable scorer (src/attack/fitness_gradient.cpp): the gradient
  // (out, in) of the adversary's loss (the cross-entropy against the labels, or
  // against the service's answers for fidelity) with respect to the target layer's
  // weight, at the weight that places the held blocks as `genome` says (an empty
  // genome: no block placed, the weight all zeros).
  torch::Tensor loss_gradient(const search::Genome& genome) const;
  // The differentiable scorer for soft placements: the adversary's loss (as
  // loss_gradient's) at a weight (out, in), differentiable in the weight, and the
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
  // The pre-activations (P, E, out) of a population.
  torch::Tensor build(const std::vector<search::Genome>& population) const;
  Scores score_logits(const torch::Tensor& logits, std::int64_t candidates) const;
  // The chain's product path: row `row`'s product (E, width) for a genome into `z`,
  // and the score of one candidate from its sum of products (E, width).
  void row_product(const search::Genome& genome, std::int64_t row, float* z) const;
  Scores score_sum(const torch::Tensor& sum) const;
  // Tiles of columns [first, last) as (columns, H, E, bh), from the cache or computed.
  torch::Tensor tiles(std::int64_t first, std::int64_t last) const;
  // One held block's tile in one column (E, bh): from the cache, or one small product
  // (a swap move needs four, not four columns of every held block's).
  torch::Tensor tile(std::int64_t column, std::int64_t block) const;
  // A candidate's pre-activation (E, out) by one dense product with its weight.
  torch::Tensor dense_pre_activation(const search::Genome& genome) const;
  // Adds the tiles of the genomes' blocks placed in columns [first, last) to `pre` (P, E, out).
  void add_tiles(float* pre, const std::vector<search::Genome>& population, const torch::Tensor& tiles,
                 std::int64_t first, std::int64_t last) const;

  Knowledge knowledge_;
  FitnessKind kind_;
  blocks::Grid grid_;
  std::int64_t held_ = 0, images_ = 0, chunk_columns_ = 0;
  torch::Tensor tiles_;  // (C, H, E, bh) when cached
  torch::Tensor bias_;   // (out), contiguous
  mutable std::int64_t evaluations_ = 0;
  mutable std::unique_ptr<RowSlices> row_slices_;  // when cached: the sums of the last call kept
  std::unique_ptr<RowProducts> products_;          // when cached and the layers after allow it
};

}  // namespace tessera::attack
