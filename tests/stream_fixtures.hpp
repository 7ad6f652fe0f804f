// A served model's streams built by hand, shared by the suites of the eavesdroppers
// and the obfuscation.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "trace/events.hpp"

namespace tessera::test {

// entry 0 -> a 1 -> block devices 2..5 -> b 6 -> block devices 7..9 -> exit 10, one
// step, forward at 1 s per hop and backward mirrored; every message 100 bytes.
inline trace::TraceFile served() {
  trace::TraceFile file;
  file.devices = 11;
  file.entry = 0;
  file.exit = 10;
  file.device_layer = std::vector<std::int64_t>{0, 1, 2, 2, 2, 2, 3, 4, 4, 4, 5};
  std::vector<std::pair<std::int64_t, std::int64_t>> arcs{{0, 1}};
  for (std::int64_t v = 2; v <= 5; ++v) arcs.insert(arcs.end(), {{1, v}, {v, 6}});
  for (std::int64_t v = 7; v <= 9; ++v) arcs.insert(arcs.end(), {{6, v}, {v, 10}});
  auto& e = file.events;
  const auto& layer = *file.device_layer;
  for (std::int64_t phase : {0, 1})
    for (const auto& [u, v] : arcs) {
      const auto src = phase == 0 ? u : v, dst = phase == 0 ? v : u;
      const double t = phase == 0 ? static_cast<double>(layer[u]) : 10.0 + static_cast<double>(5 - layer[v]);
      e.step.push_back(0);
      e.phase.push_back(phase);
      e.seq.push_back(static_cast<std::int64_t>(e.seq.size()));
      e.src.push_back(src);
      e.dst.push_back(dst);
      e.bytes.push_back(100);
      e.t_start.push_back(t);
      e.t_end.push_back(t + 0.5);
    }
  return file;
}

}  // namespace tessera::test
