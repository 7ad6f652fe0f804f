// A search run over the attack group: generation after generation until the
// generation count, the wall-time budget or the target fitness is reached (or a
// signal stops it), with the per-generation history that docs/DESIGN.md section 4 lists
// gathered on the attack leader (attack rank 0).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "search/searches.hpp"
#include "io/h5.hpp"

namespace tessera::search {

struct CampaignSettings {
  std::int64_t generations = 100;
  double time_budget_s = 0;  // 0: none
  double target_fitness = std::numeric_limits<double>::infinity();
  std::int64_t snapshot_every = 0;  // full-population snapshots (0: none)
  bool history = true;              // false: keep only the summary (to measure what history costs)
  std::string checkpoint_path;      // where checkpoints go (empty: none; a signal just stops the search)
  double checkpoint_seconds = 60;   // a checkpoint at least this often (0: every generation); a signal always writes one
  std::string fingerprint;          // the settings a checkpoint must match to be continued
};

// The history, complete on the attack leader (other ranks hold nothing).
struct History {
  std::int64_t population = 0, held = 0, positions = 0;  // all members of all parts, H, N
  std::vector<double> fitness;  // G x population
  std::vector<double> best_fitness, mean_fitness, best_accuracy, position_recovery, diversity, wall_seconds;
  std::vector<std::int32_t> best_genome;  // G x held
  std::vector<std::int64_t> snapshot_generations;
  std::vector<std::int32_t> snapshots;    // S x population x positions
  std::int64_t generations() const { return static_cast<std::int64_t>(best_fitness.size()); }
};

struct Outcome {
  History history;
  std::string stop_reason;       // "generations", "time budget", "target fitness", "search finished", or a signal's name
  search::Genome best;           // the best genome of the last generation (on the leader)
  double seconds = 0;
  // Over all attack ranks, in this run (not before a resume): candidates scored, and
  // of those computed (the rest were known); the floor: the GEMMs after the target
  // layer of every candidate scored, at the attack ranks' sgemm rate.
  std::int64_t evaluations = 0, computed = 0;
  double floor_seconds = 0;
  bool checkpointed = false;     // a checkpoint of the last generation was written
  // The best genome judged beyond the search's score (attack/assessment.hpp), filled
  // in by the caller on the leader.
  double functional_recovery = 0, test_accuracy = 0, true_test_accuracy = 0, test_fidelity = 0;
  // The search's template judged against the truth (attack::TemplateQuality), NaN when
  // the search has none or the victim's initialisation cannot be regenerated.
  double template_correlation = std::numeric_limits<double>::quiet_NaN(),
         template_ceiling = std::numeric_limits<double>::quiet_NaN();
};

struct Checkpoint;

// Collective over `attack`. `truth` (the true positions of the held blocks) is
// used only to score the history, never by the search.
// With `resume`, continues after its generation instead of starting afresh.
// Stopped by a signal, it writes a checkpoint of the last generation and returns.
Outcome run_campaign(Search& search, const search::Genome& truth, std::int64_t held,
                     const CampaignSettings& settings, MPI_Comm attack, const Checkpoint* resume = nullptr);

// Collective over `comm`: every rank gets rank 0's outcome (rank 0 must be the
// attack leader), so that all can take part in writing the file.
void share_from_leader(Outcome& outcome, MPI_Comm comm);

// Writes the history's datasets into `group` (collective over the group's file; the
// data are taken from the file communicator's rank 0, which must be the attack leader).
void write_history(const History& history, const h5::Group& group);

}  // namespace tessera::search
