// Reads a stream trace in the documented schema (README "The stream trace"), written
// by `tessera serve` or by anything else: the six event columns, the device count,
// the forward entry and exit when given, and the truth when present. A malformed
// file is refused with one line naming the file and what is wrong.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/events.hpp"

namespace tessera::trace {

struct TraceFile {
  std::string path;
  TraceEvents events;
  std::int64_t devices = 0;                     // attr `devices`, or the largest id + 1
  std::optional<std::int64_t> entry, exit;      // attrs `forward_entry`, `forward_exit`
  std::vector<std::string> layer_names;         // attr `layer_names`, when given
  std::optional<std::vector<std::int64_t>> device_layer;  // /trace/truth/device_layer
};

// Collective over `comm` (every rank gets the whole trace).
TraceFile read_trace(const std::string& path, MPI_Comm comm);

}  // namespace tessera::trace
