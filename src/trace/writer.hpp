// Writes a trace as /trace under a group, in the schema that trace/reader.hpp reads
// (docs/output.md "The stream trace"): the event columns, the attrs, and /trace/truth when
// the trace has it. Collective; every rank passes the same trace.
#pragma once

#include "trace/events.hpp"

namespace tessera::h5 {
class Group;
}

namespace tessera::trace {

void write_trace(const TraceFile& trace, const h5::Group& root);

}  // namespace tessera::trace
