// Reads the attack runs of tessera files for the measured threshold: every
// /attack/<run> of a file `tessera attack` wrote, or of every /runs/<name> of a file
// analysis/merge_runs.py merged.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "attack/threshold.hpp"
#include "io/h5.hpp"

namespace tessera::attack {

// The summary of one /attack/<run> group (`name` says where it is); throws when a
// dataset it needs is missing or empty.
AttackRun read_attack_run_summary(const h5::Group& group, const std::string& name);

// Collective over `comm`. Errors name `option` and the file: not readable, or no
// attack run in it.
std::vector<AttackRun> read_attack_runs(const std::string& path, const std::string& option, MPI_Comm comm);

}  // namespace tessera::attack
