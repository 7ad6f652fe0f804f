// A trace from packet logs: what each sender logged when a packet left and each
// receiver when one arrived, matched into one event per packet (MixNN's real
// packets, docs/DESIGN.md 4.8).
#pragma once

#include <cstdint>
#include <vector>

#include "trace/events.hpp"

namespace tessera::trace {

struct PacketSend {
  std::int64_t src = 0, dst = 0, bytes = 0;
  std::int64_t step = 0;  // < 0: outside training (initialisation, loops, reports, tests)
  std::int64_t phase = kForward;
  double t_start = 0;     // logged before the send starts
};

struct PacketArrival {
  std::int64_t src = 0, dst = 0;
  double t = 0;  // logged after the receive ends
};

// One event per send, in the order of `sends` (each sender's packets in the order it
// sent them). The k-th packet from a to b is the k-th that b received from a (MPI
// does not reorder messages between two ranks); its t_end is that arrival's time,
// never before its t_start (what remains of clock skew between processes), and NaN
// when it never arrived. A packet outside training belongs to the step during which
// it was sent, as an eavesdropper who cuts the streams by time sees it; `seq` is the
// order within a step and phase by send time.
TraceEvents events_of_packets(const std::vector<PacketSend>& sends, const std::vector<PacketArrival>& arrivals);

}  // namespace tessera::trace
