// The finished points of a sweep, kept in a checkpoint file beside its output so
// that a stopped sweep (a signal from the batch system, a preempted job) continues
// where it stopped, and its final file equals an uninterrupted run's: a point's
// result depends only on its index (docs/DESIGN.md section 5).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tessera::sweeps {

// The state of a sweep of `units` units of work and `points` points: which units are
// done, and the four numbers (accuracy, loss, fidelity, held fraction) of each point.
struct SweepState {
  std::vector<std::uint8_t> done;  // per unit
  std::vector<double> values;      // per point, 4 each
  std::int64_t done_units() const;
};

// Where and how often a sweep keeps its finished points.
struct Checkpointing {
  std::string path;          // empty: nothing is kept, a stopped sweep starts again
  std::string fingerprint;   // the settings a continuation must share (Config::fingerprint)
  bool resume = false;       // continue from `path`; a fresh start when it does not exist
  double every_seconds = 60;  // how often finished points are written while the sweep runs
  std::shared_ptr<const SweepState> restored;  // set by load_checkpoint when there is one to continue
};

// Collective, before any work: without `resume`, refuses to start over the checkpoint
// of a stopped sweep; with it, reads and checks the checkpoint when there is one and
// keeps it in `restored`. Errors name the file (and --run.resume).
void load_checkpoint(Checkpointing& checkpointing, const std::string& label, MPI_Comm comm);

// Written by the calling rank alone, as PATH.partial renamed to PATH when complete,
// so a good checkpoint is only ever replaced by a complete newer one.
void write_sweep_checkpoint(const Checkpointing& checkpointing, const std::string& label, const SweepState& state);

}  // namespace tessera::sweeps
