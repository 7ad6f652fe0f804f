// The provider's defence against the eavesdropper (the paper's S3, docs/DESIGN.md
// section 9.3): cover traffic added to a stream trace. A plan is a list of moves in
// the trace's own device ids, each applied to every step; backward phases carry the
// same moves mirrored, as the service's backward pass mirrors its forward one:
// - cover:  `from` sends `bytes` to `to` (backward: `to` to `from`), between existing
//           devices;
// - relay:  a dummy device (MixNN's dummy server) between them: from -> dummy -> to,
//           the dummy forwarding after the compute time of a real device of the trace
//           (drawn, seeded), so that its timing looks like computation;
// - loop:   `from` sends to a dummy in the forward phase and the dummy sends back in
//           the backward phase (Loopix's loop cover traffic: a device's stream to
//           itself through another, each pass still one-way);
// - lead:   `from` sends `bytes` to `to` as soon as `from` is first seen (a cover
//           stream that may precede the receiver's real traffic, so that it changes
//           when the receiver is first seen; backward mirrored);
// - delay:  a mix in front of `from` holds every message it receives, in both passes,
//           for an exponential time of mean `seconds` (Loopix's mixing delay); `to`
//           and `bytes` are unused;
// and two settings that touch every message: padding every message up to a multiple
// of `pad_quantum` bytes, and holding every message for a uniform time of up to
// `jitter` seconds.
// A move only ever sends from a device earlier in the forward dataflow to a later one
// (the moves' sampler keeps to that), so no pass gets a cycle. Dummies get fresh ids,
// and all ids are then shuffled again (seeded), so a dummy's id does not give it away;
// /trace/truth/device_layer marks dummies with -1.
//
// Holds are applied to a timed trace as they would happen: a held message starts
// later, and so does everything its receiver sends after it arrived (the trace is
// read as its own dataflow: a device sends once the real messages that reached it
// before have arrived, after the same compute time as in the plain trace), and so
// the next pass. The plan's cost in time is how much later the trace ends.
#pragma once

#include <cstdint>
#include <vector>

#include "trace/events.hpp"

namespace tessera::streams {

enum class MoveKind : std::int32_t { cover = 0, relay = 1, loop = 2, lead = 3, delay = 4 };
constexpr std::int64_t kMoveKinds = 5;
const char* move_kind_name(MoveKind kind);

struct Move {
  MoveKind kind = MoveKind::cover;
  std::int64_t from = 0, to = 0;  // loop, delay: `to` is unused
  std::int64_t bytes = 0;         // delay: unused
  double seconds = 0;             // delay: the mean hold; else unused
};
bool sends_to(MoveKind kind);  // the kinds with a receiver `to`: cover, relay, lead

struct Plan {
  std::vector<Move> moves;
  std::int64_t pad_quantum = 0;  // 0: no padding
  double jitter = 0;             // seconds; 0: no delay
  // The longest mean hold of a delay move (0: none).
  double longest_delay() const;
};

// What a plan costs, over the whole trace, against the plain trace.
struct PlanCost {
  std::int64_t bytes = 0, messages = 0;              // the plain trace's
  std::int64_t extra_bytes = 0, extra_messages = 0;  // what the plan adds (padding included)
  // Distinct (step, phase, sender, receiver) arcs of the obfuscated trace that the plain
  // one lacks: the paper's |E' xor E| (a plan never removes a stream).
  std::int64_t new_arcs = 0, arcs = 0;
  std::int64_t dummies = 0;
  // Seconds from the first stream's start to the last one's end (timed traces; else 0),
  // and how much later the obfuscated trace ends.
  double seconds = 0, extra_seconds = 0;
  double time_fraction() const { return seconds > 0 ? extra_seconds / seconds : 0.0; }
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
// bandwidth (the trace's deployment attrs, else DeploymentModel's defaults); a lead
// stream leaves when its sender is first seen; then every hold is applied (above), and
// `seq` is the order of t_start again. Untimed traces get the new streams' seq after
// the sender's first, and no holds. Errors (one line) for a move naming a device out
// of range, a negative padding, jitter or delay, or a jitter or delay longer than the
// trace's first step (a mix that holds a message for more than a step stalls the
// service rather than hiding it).
// Seconds from the first stream of a timed trace's first step to the last one's end
// (0 untimed): the deployment's step, which no hold may exceed.
double first_step_seconds(const trace::TraceEvents& events);

// The errors of obfuscate_trace for padding, jitter and delays, alone (a service
// checks its plan before it runs).
void check_holds(const trace::TraceFile& plain, const Plan& plan);

trace::TraceFile obfuscate_trace(const trace::TraceFile& plain, const Plan& plan, std::uint64_t seed,
                                 PlanCost* cost = nullptr);

}  // namespace tessera::streams
