#pragma once

#include <vector>

#include "cli/commands.hpp"

namespace tessera::cli {

// Initialises MPI, dispatches `tessera <command> ...` to the entry of `commands` it
// names on every rank, and turns errors into exit codes: an error all ranks agree on
// prints once and exits 1 everywhere; any other failure prints with its rank and
// aborts the job.
int run(int argc, char** argv, const std::vector<Command>& commands);

}  // namespace tessera::cli
