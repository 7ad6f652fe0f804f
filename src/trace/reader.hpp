// Reads a stream trace in the documented schema (README "The stream trace"), written
// by `tessera serve` or by anything else: the six event columns, the device count,
// the forward entry and exit when given, and the truth when present. A malformed
// file is refused with one line naming the file and what is wrong. The times
// (t_start, t_end) are optional, as a pair.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "trace/events.hpp"

namespace tessera::trace {


// Collective over `comm` (every rank gets the whole trace).
TraceFile read_trace(const std::string& path, MPI_Comm comm);

}  // namespace tessera::trace
