// Sweeps: grids of experiment points spread over the ranks. A point's result
// depends only on its index (its randomness is derived from the seed and the
// index), so the numbers do not depend on the number of ranks.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "blocks/placement.hpp"
#include "sweeps/evaluator.hpp"
#include "sweeps/sweep_checkpoint.hpp"

namespace tessera::sweeps {

// "0.5:0.88:0.02,0.9:1.0:0.001,0.95": ranges first:last:step (inclusive) and single
// values, comma-separated, in the order given. Errors name `option`.
std::vector<double> parse_grid(const std::string& text, const std::string& option);

struct PointResult {
  Score score;
  double held_fraction = 0;
};

// Runs body(i) for i in [0, count), point i on rank i % size, and returns every
// point's result on every rank. Rank 0 reports progress with ETA under `label`.
// A signal (core/stop.hpp) on any rank stops every rank after the unit at hand.
std::vector<PointResult> spread(MPI_Comm comm, std::int64_t count, const std::function<PointResult(std::int64_t)>& body,
                                const std::string& label);

// The same over units of work that each produce several points: unit u runs on
// rank u % size and returns (point index, result) pairs; `points` in all. Units
// are fixed by the grid, never by the rank count, so results do not depend on it.
// With a checkpoint path, finished points are written there every
// `checkpointing.every_seconds` and when a signal stops the sweep, and a resumed
// sweep runs only the units not yet done (spread round-robin over the ranks).
using UnitResults = std::vector<std::pair<std::int64_t, PointResult>>;
std::vector<PointResult> spread_units(MPI_Comm comm, std::int64_t units, std::int64_t points,
                                      const std::function<UnitResults(std::int64_t)>& body, const std::string& label,
                                      const Checkpointing& checkpointing);

// The drop grid (P1): point a * repeats + k is rates[a], repeat k. Within a repeat,
// held sets are nested across rates, so fixed segments of rates (fewest held first)
// are built incrementally: each point adds only its newly held blocks' products.
std::vector<PointResult> drop_sweep(MPI_Comm comm, const Evaluator& evaluator, const blocks::Placement& placement,
                                    const std::vector<double>& rates, std::int64_t repeats, std::uint64_t seed,
                                    const Checkpointing& checkpointing = {});

// The transposition sequence of swap point (rate a, repeat k); a point with p pairs
// applies its first p transpositions, so pair counts are nested too.
std::uint64_t swap_sequence_seed(std::uint64_t seed, std::int64_t rate_index, std::int64_t repeat);

// The drop x swap grid (S1): point (a * pairs + b) * repeats + k. Per (rate, repeat)
// each distinct (held block, column it is placed in) product over all pair counts
// is computed once (one GEMM per column), in fixed slices of the eval set; every
// point then sums its held blocks' cached products and runs the later layers.
std::vector<PointResult> swap_sweep(MPI_Comm comm, const Evaluator& evaluator, const blocks::Placement& placement,
                                    const blocks::Grid& grid, const std::vector<double>& rates,
                                    const std::vector<double>& pairs, std::int64_t repeats, std::uint64_t seed,
                                    const Checkpointing& checkpointing = {});

}  // namespace tessera::sweeps
