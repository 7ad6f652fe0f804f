// Reads the attack runs of tessera files for the measured threshold: every
// /attack/<run> of a file `tessera attack` wrote, or of every /runs/<name> of a file
// analysis/merge_runs.py merged.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "attack/threshold.hpp"

namespace tessera::attack {

// Collective over `comm`. Errors name `option` and the file: not readable, or no
// attack run in it.
std::vector<AttackRun> read_attack_runs(const std::string& path, const std::string& option, MPI_Comm comm);

}  // namespace tessera::attack
