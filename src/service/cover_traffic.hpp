// An obfuscation plan sent for real (docs/DESIGN.md section 9.3): the cover bytes of
// `tessera streams obfuscate`'s plan, between the ranks that host the devices
// involved, once per pass of the service. Every move's messages (cover: one; relay:
// two, through the dummy's rank; loop: one each pass) are summed per (sender rank,
// receiver rank) and phase, and exchanged in one MPI_Alltoallv per pass: what the
// plan costs in traffic, measured on the service's own links. Messages between
// devices of one rank cost a copy. Padding is sent the same way: what rounding every
// real message of a step up to the quantum adds, between the ranks of its ends (the
// service aggregates the real messages per rank, so the padding travels beside them).
// Holds (jitter, delay moves) cost time, not bytes: they are applied to the
// deployment's times, in the trace (streams/obfuscation.hpp).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "streams/obfuscation.hpp"
#include "trace/events.hpp"

namespace tessera::service {

class CoverTraffic {
 public:
  // `host_rank`: the rank of every device of the plan's trace; dummies go to ranks in
  // turn. Errors name the plan for a device id out of range.
  // `one_step`: the plain service's messages of one step (both phases), whose padding
  // is sent; none: no padding sent.
  CoverTraffic(const streams::Plan& plan, const std::vector<std::int32_t>& host_rank, int ranks, int rank,
               const trace::TraceEvents* one_step = nullptr);

  // Collective over the service's ranks: this rank's cover bytes of one pass (0
  // forward, 1 backward).
  void exchange(MPI_Comm comm, int phase);

  // Bytes this rank sends per pass (forward, backward), copies to itself included.
  std::int64_t bytes_sent(int phase) const;

 private:
  // [phase][peer]: bytes sent to / received from `peer`.
  std::vector<std::int64_t> send_[2], receive_[2];
  std::vector<char> out_, in_;
};

}  // namespace tessera::service
