// What a `tessera mixnn` run writes (docs/DESIGN.md section 4.8): /mixnn (epochs of
// MixNN and the plain model, per-rank hop costs, failures, the cascades as truth)
// and /trace (every packet as sent, padded).
#pragma once

#include <mpi.h>

#include <optional>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "mixnn/designer.hpp"
#include "mixnn/extraction.hpp"
#include "mixnn/server.hpp"
#include "mixnn/transport.hpp"

namespace tessera::mixnn {

struct MixnnRun {
  std::string arch;
  std::vector<PartPlan> plans;
  std::string designer_keeps;
  int pool = 0, dummies = 0;
  double loop_rate = 0;
  std::size_t message_bytes = 0, packet_bytes = 0;
  Injection injected;  // of the first cascade
  int crash_rank = -1, byzantine_rank = -1;
};

// Collective over `world`: gathers every rank's hop costs and packet logs to rank 0
// and writes both groups under `root` (`result` is rank 0's; other ranks pass theirs
// empty).
void write_mixnn(const h5::Group& root, const MixnnRun& run, const DesignerResult& result,
                 const HopStats& mine, const Transport& transport, MPI_Comm living,
                 const std::vector<int>& alive);

// Collective over `world`: /mixnn/extraction, the attack on Theorem 1 (`report` is
// rank 0's).
void write_extraction(const h5::Group& root, const std::vector<int>& adversary, std::int64_t public_images,
                      const ExtractionSettings& settings, const std::optional<ExtractionReport>& report,
                      MPI_Comm world);

}  // namespace tessera::mixnn
