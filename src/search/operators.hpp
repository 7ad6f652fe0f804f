// Genetic-algorithm and local-search operators on permutation genomes (the
// placement of blocks/genome.hpp, whose names this namespace uses as its own).
//
// Pure std C++ (no LibTorch, no MPI) so it builds into tessera_base and is
// tested in isolation. Every random operator takes the caller's
// std::mt19937_64 and draws only through the portable draws of core/rng.hpp,
// so results are identical across standard libraries.
//
// Preconditions that the caller can get wrong (mismatched lengths, an argument
// that is not a permutation, out-of-range cuts or counts) throw
// std::invalid_argument; the checks are O(N), no more than the operators.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "blocks/genome.hpp"
#include "core/rng.hpp"

namespace tessera::search {

// --- portable random draws (core/rng.hpp) ----------------------------------

using tessera::uniform_below;
using tessera::uniform_unit;

// --- genomes (blocks/genome.hpp) -------------------------------------------

using blocks::apply_swap;
using blocks::Genome;
using blocks::identity;
using blocks::is_valid_permutation;
using blocks::position_recovery;
using blocks::random_genome;
using blocks::random_swap_move;
using blocks::SwapMove;

// --- crossovers (one child from two parents of equal length N) -------------

// Half-open index range [begin, end).
struct Slice {
  std::int32_t begin;
  std::int32_t end;
};

// The cut points the random crossovers use: two independent uniform indices
// i, j in [0, n), slice [min, max + 1). Never empty (length 1..n); n >= 1.
Slice random_slice(std::int32_t n, std::mt19937_64& rng);

// Order crossover (OX, Davis): child[cut1, cut2) = a[cut1, cut2); the other
// positions are filled, starting at cut2 and wrapping around, with the values
// missing so far in the order they appear in b read from b[cut2] (wrapping).
// 0 <= cut1 <= cut2 <= N. Keeps a's slice in place and b's relative order.
Genome order_crossover_at(const Genome& a, const Genome& b, std::int32_t cut1, std::int32_t cut2);

// Partially mapped crossover (PMX, Goldberg): child[cut1, cut2) = a[cut1, cut2);
// each value v of b[cut1, cut2) not in that slice goes to the position found by
// following v's index i through the mapping i -> index of a[i] in b until it
// leaves the slice; every remaining position takes b's value. Keeps a's slice
// and as many of b's absolute positions as possible (which is what positions
// mean here: the grid cell of each held block). 0 <= cut1 <= cut2 <= N.
Genome pmx_crossover_at(const Genome& a, const Genome& b, std::int32_t cut1, std::int32_t cut2);

// The same with cuts from random_slice(N, rng); N == 0 gives an empty child.
Genome order_crossover(const Genome& a, const Genome& b, std::mt19937_64& rng);
Genome pmx_crossover(const Genome& a, const Genome& b, std::mt19937_64& rng);

// --- mutations (in place; the result is always a permutation) --------------

// apply_swap(g, random_swap_move(g.size(), h, rng)). A no-op that draws
// nothing when no such move exists (h == 0, e.g. drop rate 1, or N < 2).
// 0 <= h <= N.
void swap_mutation(Genome& g, std::int32_t h, std::mt19937_64& rng);

// Removes g[from] and reinserts it at index `to`, shifting the entries between
// by one. Acts on the whole permutation, held prefix and empty tail alike:
// entries that shift across index H change role, i.e. a held block's position
// becomes empty and an empty position is taken by a held block. The result is
// still a valid placement, and the move is a larger jump than a swap.
void insert_mutation_at(Genome& g, std::int32_t from, std::int32_t to);

// insert_mutation_at with from != to drawn uniformly; no-op for N < 2.
void insert_mutation(Genome& g, std::mt19937_64& rng);

// Fisher-Yates shuffle of g[begin, end) (same whole-permutation semantics as
// insert). 0 <= begin <= end <= N.
void scramble_mutation_at(Genome& g, std::int32_t begin, std::int32_t end, std::mt19937_64& rng);

// scramble_mutation_at on [min(i, j), max(i, j) + 1) with i != j uniform, so
// the slice holds at least two entries (the shuffle may still leave it as it
// was); no-op for N < 2.
void scramble_mutation(Genome& g, std::mt19937_64& rng);

// --- selection -------------------------------------------------------------
//
// HIGHER fitness is better (accuracy); a caller that minimises a loss passes
// its negation. NaN ranks below every number (a failed evaluation never wins).
// Ties go to the lower index, so selection is a deterministic function of the
// draws.

// Index of the best of k >= 1 indices drawn uniformly with replacement from a
// non-empty fitness vector; ties among the drawn go to the lowest index.
std::size_t tournament(const std::vector<double>& fitness, int k, std::mt19937_64& rng);

// The e best indices, best first, ties by lower index. 0 <= e <= P.
std::vector<std::size_t> elite_indices(const std::vector<double>& fitness, std::size_t e);

// --- measures --------------------------------------------------------------

// Mean over held slots k < h of 1 - (count of the most frequent value at slot
// k) / P, for a population of P genomes of one length N. 0 when all genomes
// agree on every held slot (and for P == 0 or h == 0); at most 1 - 1/P, reached
// when every slot holds P distinct values. The empty tail is ignored: only
// where held blocks sit matters. Requires h <= N.
double diversity(const std::vector<Genome>& population, std::int32_t h);

}  // namespace tessera::search
