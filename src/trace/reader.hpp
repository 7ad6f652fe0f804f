// Reads a stream trace in the documented schema (docs/output.md "The stream trace"), written
// by `tessera serve` or by anything else: the six event columns, the device count,
// the forward entry and exit when given, and the truth when present. A malformed
// file is refused with one line naming the file and what is wrong. The times
// (t_start, t_end) are optional, as a pair.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "trace/events.hpp"

namespace tessera::h5 {
class Group;
}

namespace tessera::trace {

// Collective over `comm` (every rank gets the whole trace).
TraceFile read_trace(const std::string& path, MPI_Comm comm);

// How a file made from a trace (streams analyze, streams obfuscate) names it: the
// attribute `trace` relative to that file's folder, so that a folder moved whole
// keeps working, and `trace_absolute` for a file moved alone. Collective.
void record_trace_path(const h5::Group& group, const std::string& trace, const std::string& output_path);

// The trace recorded in `group` of the file `file`: beside the file, else at its
// absolute path (files written before this rule: relative to the working folder).
// An Error naming `option`, the file and the places tried when none holds it.
std::string recorded_trace_path(const h5::Group& group, const std::string& file, const std::string& option);

}  // namespace tessera::trace
