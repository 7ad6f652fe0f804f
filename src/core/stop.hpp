// Clean stops on a signal. A batch system warns a job before ending it: Slurm sends
// the signal of `sbatch --signal=USR1@120` ahead of the time limit, and SIGTERM on
// scancel or at the limit (SIGKILL follows KillWait seconds later). A long command
// installs the handlers, which only note the signal; the command looks at the note
// between units of work, all ranks agree, and it ends with one line and exit code
// kStoppedExitCode instead of being killed mid-write.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>

#include "core/error.hpp"

namespace tessera::stop {

inline constexpr int kStoppedExitCode = 3;

// Raised on every rank together when the ranks agreed to stop; the runtime prints it
// and exits with kStoppedExitCode.
class Stopped : public AgreedError {
 public:
  using AgreedError::AgreedError;
};

// Catches SIGTERM, SIGUSR1 and SIGINT from now on (a second SIGINT still ends the
// process at once, for a user at a terminal).
void install_handlers();

// The signal this process received since install_handlers(), or 0. Local, no communication.
int received();

// Collective: the lowest signal number any rank received, or 0 when none did.
int agreed(MPI_Comm comm);

// Collective: true on every rank when rank 0's clock says `budget_s` seconds have
// passed since `since` (a budget of 0 or less: never). One clock decides, so that
// every rank stops at the same step.
bool budget_spent(std::chrono::steady_clock::time_point since, double budget_s, MPI_Comm comm);

// "SIGUSR1" for SIGUSR1, and so on.
std::string signal_name(int signal);

}  // namespace tessera::stop
