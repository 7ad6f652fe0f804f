// The swap chain: a local search's moves from one genome, scored one by one (the
// annealing's and the RL agent's). With cached tiles and RowProducts a move sums the
// (at most two) row slices it touches and their products, and scores the chain's sum
// of products with those replaced: 2/R of the next Linear's GEMM. Otherwise the
// pre-activation is updated in place. Either way round-off from the updates builds up
// along the chain: start a new chain now and then (the annealing does every
// generation).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scoring/fitness.hpp"
#include "blocks/genome.hpp"

namespace tessera::scoring {

class SwapChain {
 public:
  SwapChain() = default;  // no chain yet
  // Scores `genome` (one evaluation); `fitness` must outlive the chain.
  SwapChain(Fitness& fitness, const blocks::Genome& genome);

  const blocks::Genome& genome() const { return genome_; }
  const Scores& evaluation() const { return evaluation_; }

  // Scores the genome with `move` applied; the chain stays where it is until accept().
  const Scores& try_swap(blocks::SwapMove move);
  void accept();  // the move tried last

 private:
  Fitness* fitness_ = nullptr;
  blocks::Genome genome_;
  Scores evaluation_;
  torch::Tensor products_, sum_;  // (R, E, width) and (E, width): the product path
  torch::Tensor pre_;             // (E, out): the other path
  // The last move tried: its genome, the rows it touched and their new products,
  // and its sum or pre.
  blocks::Genome moved_;
  std::vector<std::int64_t> rows_;
  torch::Tensor moved_products_, moved_sum_, moved_pre_;
  Scores moved_evaluation_;
};

}  // namespace tessera::scoring
