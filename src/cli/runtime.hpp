#pragma once

namespace tessera::cli {

// Initialises MPI, dispatches `tessera <command> ...` on every rank, and turns
// errors into exit codes: an error all ranks agree on prints once and exits 1
// everywhere; any other failure prints with its rank and aborts the job.
int run(int argc, char** argv);

}  // namespace tessera::cli
