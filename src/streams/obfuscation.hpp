// The provider's defence against the eavesdropper (the paper's S3, docs/DESIGN.md
// section 9.3): cover traffic added to a stream trace. A plan is a list of moves in
// the trace's own device ids, each applied to every step; backward phases carry the
// same moves mirrored, as the service's backward pass mirrors its forward one:
// - cover:  `from` sends `bytes` to `to` (backward: `to` to `from`), between existing
//           devices;
// - relay:  a dummy device (MixNN's dummy server) between them: from -> dummy -> to;
// - loop:   `from` sends to a dummy in the forward phase and the dummy sends back in
//           the backward phase (Loopix's loop cover traffic: a device's stream to
//           itself through another, each pass still one-way);
// and two settings that touch every message: padding every message up to a multiple
// of `pad_quantum` bytes, and delaying every message by up to `jitter` seconds.
// A move only ever sends from a device earlier in the forward dataflow to a later one
// (the moves' sampler keeps to that), so no pass gets a cycle. Dummies get fresh ids,
// and all ids are then shuffled again (seeded), so a dummy's id does not give it away;
// /trace/truth/device_layer marks dummies with -1.
#pragma once

#include <cstdint>
#include <vector>

#include "trace/events.hpp"

namespace tessera::streams {

enum class MoveKind : std::int32_t { cover = 0, relay = 1, loop = 2 };
const char* move_kind_name(MoveKind kind);

struct Move {
  MoveKind kind = MoveKind::cover;
  std::int64_t from = 0, to = 0;  // loop: `to` is unused
  std::int64_t bytes = 0;
};

struct Plan {
  std::vector<Move> moves;
  std::int64_t pad_quantum = 0;  // 0: no padding
  double jitter = 0;             // seconds; 0: no delay
};

// What a plan costs, over the whole trace, against the plain trace.
struct PlanCost {
  std::int64_t bytes = 0, messages = 0;              // the plain trace's
  std::int64_t extra_bytes = 0, extra_messages = 0;  // what the plan adds (padding included)
  // Distinct (step, phase, sender, receiver) arcs of the obfuscated trace that the plain
  // one lacks: the paper's |E' xor E| (a plan never removes a stream).
  std::int64_t new_arcs = 0, arcs = 0;
  std::int64_t dummies = 0;
  double byte_fraction() const { return bytes ? static_cast<double>(extra_bytes) / static_cast<double>(bytes) : 0.0; }
  double message_fraction() const {
    return messages ? static_cast<double>(extra_messages) / static_cast<double>(messages) : 0.0;
  }
};

// The trace with the plan's streams added; the trace must have its truth and its
// forward entry and exit. Times: a cover or relay stream leaves once both its sender
// and its receiver have had their first real stream of that step and phase (so cover
// never makes a device appear earlier), a loop's return when its device is first seen
// in the backward phase; each takes the deployment's latency plus its bytes over the
// bandwidth (the trace's deployment attrs, else DeploymentModel's defaults); `seq` is
// the order of t_start again. Untimed traces get the new streams' seq after the
// sender's first. Errors (one line) for a move naming a device out of range.
trace::TraceFile obfuscate_trace(const trace::TraceFile& plain, const Plan& plan, std::uint64_t seed,
                                 PlanCost* cost = nullptr);

}  // namespace tessera::streams
