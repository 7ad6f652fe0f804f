// Sweeps: grids of experiment points spread over the ranks. A point's result
// depends only on its index (its randomness is derived from the seed and the
// index), so the numbers do not depend on the number of ranks.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "threat/evaluator.hpp"

namespace tessera::threat {

// "0.5:0.88:0.02,0.9:1.0:0.001,0.95": ranges first:last:step (inclusive) and single
// values, comma-separated, in the order given. Errors name `option`.
std::vector<double> parse_grid(const std::string& text, const std::string& option);

struct PointResult {
  Score score;
  double held_fraction = 0;
};

// Runs body(i) for i in [0, count), point i on rank i % size, and returns every
// point's result on every rank. Rank 0 reports progress with ETA under `label`.
std::vector<PointResult> spread(MPI_Comm comm, std::int64_t count, const std::function<PointResult(std::int64_t)>& body,
                                const std::string& label);

}  // namespace tessera::threat
