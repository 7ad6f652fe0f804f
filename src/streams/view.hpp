// What an eavesdropper sees of one step and phase of a stream trace, at a level of
// detail (--streams.view): `timed` (sender, receiver, bytes and when each stream
// starts and ends), `ordered` (the same with the order of the streams only), `flat`
// (sender, receiver, bytes: the paper's flattened information) or `edges` (sender
// and receiver only). Divisions read the device graph; the timed and ordered views
// have the order that Algorithm 1 sorts its pivots by.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "streams/division.hpp"
#include "trace/reader.hpp"

namespace tessera::streams {

enum class View { timed, ordered, flat, edges };
bool has_order(View view);  // timed or ordered
bool has_sizes(View view);  // every view but edges
// The never-seen value of first_seen, first_in and first_out.
constexpr double kNeverSeen = 1.7976931348623157e308;
View parse_view(const std::string& name);  // error naming --streams.view
const char* view_name(View view);

struct ObservedStreams {
  DeviceGraph graph;
  // Per device: when (t_start) or at which position (seq) the first stream it sends or
  // receives starts; devices that neither send nor receive come last. Only in the
  // timed and ordered views.
  std::vector<double> first_seen;
  // Per device, in the same units: when its first incoming (and first outgoing)
  // stream starts; a device with none gets the never-seen value. Only in the timed
  // and ordered views.
  std::vector<double> first_in, first_out;
  // Per device: messages and bytes it receives and sends (every view but edges, which
  // has no sizes, where they stay empty).
  std::vector<std::int64_t> messages_in, messages_out, bytes_in, bytes_out;
  std::int64_t entry = -1, exit = -1;  // where the phase's data enters and leaves
  // The number of the model's layers among the devices (the truth's distinct layers,
  // dummies aside): what an eavesdropper that knows the architecture is told. 0 when
  // the trace has no truth.
  std::int64_t layers = 0;
  std::int64_t streams = 0, bytes = 0;
  // Streams that closed a cycle (a pass's data flows one way, so the cover traffic
  // of MixNN's loops, say), left out of the graph; see observe.
  std::int64_t set_aside = 0;
};

// The streams of `step` and `phase` (0 forward, 1 backward). The forward entry and
// exit are the trace's attrs when it has them, else the one device that only sends
// and the one that only receives (backward: the other way round); an error names the
// file when there is no such single device, no stream in that step and phase, or no
// times for the timed view. When the streams form a cycle, the timed and ordered
// views set aside every stream that runs against the order in which devices first
// appear (its sender first seen after its receiver), which leaves the flow; in the
// flat and edges views, which have no order, a cycle is an error.
ObservedStreams observe(const trace::TraceFile& file, std::int64_t step, std::int64_t phase, View view);

}  // namespace tessera::streams
