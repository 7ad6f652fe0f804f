// What the adversary holds and how it places it (paper sections III and IV).
// It controls a fraction of the devices and holds every block on them; the drop
// rate is the fraction of blocks it does NOT hold (the seed's term). With
// knowledge `positions` (P1) it puts held blocks at their true positions; with
// knowledge `layer` (S1) it knows only the layer, modelled as the seed did: true
// positions after `pairs` random transpositions among the held blocks.
#pragma once

#include <cstdint>
#include <vector>

#include "blocks/placement.hpp"

namespace tessera::sweeps {

// The held blocks (sorted ids) when the adversary compromises devices in a seeded
// order until it holds at least (1 - drop_rate) of the blocks. The order depends on
// (seed, repeat) only, so for one repeat the held sets of higher drop rates are
// subsets of those of lower ones (common random numbers: smoother curves).
std::vector<std::int64_t> held_blocks(const blocks::Placement& placement, double drop_rate, std::uint64_t seed,
                                      std::int64_t repeat);

// Where each held block is put: held[k] goes to position[k]. Starts from the true
// positions and applies `pairs` transpositions of two distinct held blocks of the
// same shape, drawn from `seed`. Error (naming --swap.pairs) when pairs > 0 and
// fewer than two blocks are held.
std::vector<std::int64_t> transposed_positions(const std::vector<std::int64_t>& held, const blocks::Grid& grid,
                                               std::int64_t pairs, std::uint64_t seed);

}  // namespace tessera::sweeps
