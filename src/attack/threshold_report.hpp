// The threshold analysis as lines of text (what `tessera threshold` prints and
// writes): the formula at its inputs, the seed's numeric example recomputed and
// where it departs from the formula, and the threshold measured by attack runs
// beside the formula's at the runs' own search effort (docs/threshold.md).
#pragma once

#include <string>
#include <vector>

#include "attack/attack_runs.hpp"
#include "attack/threshold.hpp"

namespace tessera::attack {

// The inputs, both conditions and the smallest infeasible N.
std::vector<std::string> formula_report(const ThresholdInputs& in, const ThresholdResult& r);

// The seed's example (VGG16 fc1 in 256 x 256 blocks) recomputed, and its four
// discrepancies with the formula.
std::vector<std::string> seed_report();

// Per granularity of `runs`, broken or not (a run breaks its N when its best member
// has at least `recovery` of the held blocks at their true positions); the measured
// threshold; the formula at each search effort of the runs (`options` gives the rest).
std::vector<std::string> measured_report(const std::vector<AttackRun>& runs, double recovery,
                                         const ThresholdInputs& options);

}  // namespace tessera::attack
