// The adversary's placement of its held blocks on a layer's grid, as a genome
// (docs/DESIGN.md section 1): a permutation g of [0, N). The adversary holds H <= N
// blocks; held block k sits at grid position g[k] for k < H, and g[H..N) are the
// positions left empty. Keeping the empty positions in the genome as a reservoir
// means every operator only has to preserve "is a permutation" for a candidate to
// be a valid placement (distinct positions), which is the property the seed's GA
// never had (docs/DESIGN.md section 7).
//
// This is the vocabulary that scoring, the searches and the attack share, so it sits
// below all three. Pure std C++ (no LibTorch, no MPI). Random draws go through the
// portable draws of core/rng.hpp, so results are identical across standard libraries.
// Preconditions a caller can get wrong throw std::invalid_argument.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tessera::blocks {

using Genome = std::vector<std::int32_t>;

// 0, 1, ..., n-1 (every held block at position k; the "truth" when the grid
// positions are numbered in held-block order). n >= 0.
Genome identity(std::int32_t n);

// Uniform random permutation of [0, n) by Fisher-Yates. n >= 0.
Genome random_genome(std::int32_t n, std::mt19937_64& rng);

// True when g holds each of 0..g.size()-1 exactly once.
bool is_valid_permutation(const Genome& g);

// A transposition of entries i and j of a genome.
struct SwapMove {
  std::int32_t i;
  std::int32_t j;
};

// i uniform in [0, h), j uniform in [0, n) \ {i}: a held block always moves,
// either onto another held block's position (which moves that one back) or
// onto an empty position (j >= h). Two empty positions are never exchanged:
// that would not change the placement. Requires 1 <= h <= n and n >= 2.
SwapMove random_swap_move(std::int32_t n, std::int32_t h, std::mt19937_64& rng);

// std::swap(g[m.i], g[m.j]). Applying the same move again undoes it, which is
// how simulated annealing rejects a move.
void apply_swap(Genome& g, SwapMove m);

// Fraction of the held blocks k < h with g[k] == truth[k] (truth[k] is the true
// position of held block k). 0 when h == 0. Requires h <= g.size() and
// h <= truth.size().
double position_recovery(const Genome& g, std::int32_t h, const Genome& truth);

}  // namespace tessera::blocks
