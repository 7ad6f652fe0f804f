#include "core/stop.hpp"

#include <csignal>
#include <cstring>

namespace tessera::stop {

namespace {

volatile std::sig_atomic_t noted = 0;

extern "C" void note_signal(int signal) {
  if (signal == SIGINT && noted == SIGINT) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  noted = signal;
}

}  // namespace

void install_handlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = note_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // MPI and file calls carry on; the command looks at the note later
  for (int signal : {SIGTERM, SIGUSR1, SIGINT}) sigaction(signal, &action, nullptr);
}

int received() { return noted; }

bool budget_spent(std::chrono::steady_clock::time_point since, double budget_s, MPI_Comm comm) {
  int spent = budget_s > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count() >= budget_s;
  MPI_Bcast(&spent, 1, MPI_INT, 0, comm);
  return spent != 0;
}

int agreed(MPI_Comm comm) {
  // MPI_MIN over "signal or a large number", so any rank's signal wins.
  const int mine = noted ? static_cast<int>(noted) : 1 << 30;
  int lowest = 0;
  MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, comm);
  return lowest == 1 << 30 ? 0 : lowest;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "signal " + std::to_string(signal);
  }
}

}  // namespace tessera::stop
