// What identifies a deployment in its trace: the device ids and what each holds (the
// device count, the layer names, /trace/truth/device_layer and block_device). Two
// services with the same fingerprint have the same devices, so an obfuscation plan
// made on one's trace applies to the other; another seed, cut, block size or
// placement gives other ids, and the plan would hide nothing there.
#pragma once

#include <string>

#include "trace/events.hpp"

namespace tessera::trace {

// 16 hex digits (FNV-1a, 64 bits) over those fields; empty when the trace has no
// truth tables (a third-party trace), which identifies no deployment.
std::string deployment_fingerprint(const TraceFile& trace);

}  // namespace tessera::trace
