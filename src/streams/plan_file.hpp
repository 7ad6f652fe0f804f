// An obfuscation plan in a file: /obfuscation/plan, written by `tessera streams
// obfuscate` with the plans its search scored (/obfuscation/points, below) and read
// by `tessera serve --serve.obfuscation` (docs/streams.md "The provider's
// defence"). Columns `kind` (0 cover, 1 relay, 2 loop, 3 lead, 4 delay), `from`, `to`,
// `bytes`, `seconds` (a delay's mean hold), in the ids of the trace it was planned on;
// attrs `pad_quantum`, `jitter` (seconds), `devices` (that trace's device count) and
// `deployment` (its trace::deployment_fingerprint, empty for a trace without truth
// tables).
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "io/h5.hpp"
#include "streams/obfuscation_search.hpp"

namespace tessera::streams {

void write_plan(const h5::Group& group, const Plan& plan, std::int64_t devices, const std::string& deployment);

// /obfuscation/points: one row per plan scored (`optimiser`, its code in
// optimiser_names(), also listed in the attr `optimiser_names`; `ari_<eavesdropper>`
// for each of eavesdroppers(); `loss`; the costs; `moves`, `delay_moves`; `on_front`,
// 1 for the points of `front`), docs/output.md.
void write_points(const h5::Group& group, const std::vector<PlanPoint>& points, const std::vector<std::size_t>& front);

struct PlanFile {
  Plan plan;
  std::int64_t devices = 0;
  std::string deployment;  // empty: made on a trace that identifies no deployment (or before plans were bound)
};
// Collective. Errors name the file: no /obfuscation/plan, columns missing or of
// different lengths, an unknown kind, negative sizes, a device out of range.
PlanFile read_plan(const std::string& path, MPI_Comm comm);

}  // namespace tessera::streams
