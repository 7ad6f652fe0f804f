// The logical device-to-device streams (README "The stream trace", a public schema):
// one entry per message, as equal-length columns.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::trace {

enum Phase : std::int32_t { kForward = 0, kBackward = 1 };

struct TraceEvents {
  std::vector<std::int64_t> step, phase, seq, src, dst, bytes;
  std::size_t size() const { return src.size(); }
};

}  // namespace tessera::trace
