// What an eavesdropper sees of one step and phase of a stream trace, at a level of
// detail (--streams.view): `ordered` (sender, receiver, bytes and the order of the
// streams), `flat` (sender, receiver, bytes: the paper's flattened information) or
// `edges` (sender and receiver only). Divisions read the device graph; only the
// ordered view has the order that Algorithm 1 sorts its pivots by.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "streams/division.hpp"
#include "trace/reader.hpp"

namespace tessera::streams {

enum class View { ordered, flat, edges };
View parse_view(const std::string& name);  // error naming --streams.view
const char* view_name(View view);

struct ObservedStreams {
  DeviceGraph graph;
  // Per device: the position (seq) of the first stream it sends or receives; devices
  // that neither send nor receive come last. Only in the ordered view.
  std::vector<double> first_seen;
  std::int64_t entry = -1, exit = -1;  // where the phase's data enters and leaves
  std::int64_t streams = 0, bytes = 0;
};

// The streams of `step` and `phase` (0 forward, 1 backward). The forward entry and
// exit are the trace's attrs when it has them, else the one device that only sends
// and the one that only receives (backward: the other way round); an error names the
// file when there is no such single device, or no stream in that step and phase.
ObservedStreams observe(const trace::TraceFile& file, std::int64_t step, std::int64_t phase, View view);

}  // namespace tessera::streams
