// The eavesdroppers by name, and all of them at once on a trace: what the provider's
// obfuscation is scored against (docs/DESIGN.md section 9.3).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "streams/view.hpp"

namespace tessera::streams {

// sequential (Algorithm 1), flattened (Algorithm 2 with threshold `th`) or depth.
bool is_method(const std::string& method);
struct MethodDivision {
  Division division;
  std::int64_t connectivity = 0;        // sequential only
  std::vector<std::int64_t> reachable;  // flattened only
};
MethodDivision divide(const std::string& method, const ObservedStreams& seen, std::int64_t phase, std::int64_t th);

constexpr std::array<const char*, 3> kMethods{"sequential", "flattened", "depth"};

// Each eavesdropper's adjusted Rand index on `step` of a trace with its truth, on the
// best view it can use (Algorithm 1: timed when the trace has times, else ordered;
// the others see only the graph, which every view shows alike), the worse for the
// provider of the two phases (the larger index).
struct Judgement {
  std::array<double, kMethods.size()> ari{};
  double worst() const;  // the largest
  double mean() const;
};
Judgement judge(const trace::TraceFile& file, std::int64_t step, std::int64_t th);

}  // namespace tessera::streams
