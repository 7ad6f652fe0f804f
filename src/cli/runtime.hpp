#pragma once

namespace tessera::cli {

// Initialises MPI, dispatches `tessera <command> ...` on every rank, and turns
// errors into exit codes: an error all ranks agree on prints once and exits 1
// everywhere; any other failure prints with its rank and aborts the job.
int run(int argc, char** argv);

// Open MPI's MPI_Finalize begins with a fence over every process of the job, and a
// process that died (a rank killed under `mpiexec --enable-recovery`) may never be
// let out of it: the ranks alive then wait in MPI_Finalize forever. A run that
// lost ranks calls this before it returns so that MPI_Finalize skips that fence
// (Open MPI's own switch for it; nothing with another MPI library).
void finalize_without_the_dead();

}  // namespace tessera::cli
