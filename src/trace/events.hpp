// The logical device-to-device streams (docs/output.md "The stream trace", a public schema):
// one entry per message, as equal-length columns, and what a file says about them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tessera::trace {

enum Phase : std::int32_t { kForward = 0, kBackward = 1 };

struct TraceEvents {
  std::vector<std::int64_t> step, phase, seq, src, dst, bytes;
  // Seconds since the first step began; empty when the trace has no times (a
  // third-party trace may leave them out).
  std::vector<double> t_start, t_end;
  std::size_t size() const { return src.size(); }
  bool timed() const { return !t_start.empty(); }
};

// The seeded model of a real deployment that gives every message its times
// (docs/DESIGN.md section 9.1): a device computes at `device_flops`, a message takes
// `latency` plus its bytes over `bandwidth`, and every compute and transfer time is
// scaled by a uniform factor in [1 - jitter, 1 + jitter].
struct DeploymentModel {
  double device_flops = 1e10;  // flop/s of every device
  double latency = 1e-3;       // seconds per message
  double bandwidth = 1.25e8;   // bytes/s of every link (1 Gbit/s)
  double jitter = 0.1;         // in [0, 1)
};

// A whole trace: the events and what the /trace group says of them.
struct TraceFile {
  std::string path;                             // where it was read from (empty when built)
  TraceEvents events;
  std::int64_t devices = 0;                     // attr `devices`, or the largest id + 1
  std::optional<std::int64_t> entry, exit;      // attrs `forward_entry`, `forward_exit`
  std::vector<std::string> layer_names;         // attr `layer_names`, when given
  std::optional<DeploymentModel> deployment;    // the attrs that made t_start/t_end, when given
  std::optional<std::vector<std::int64_t>> device_layer;  // /trace/truth/device_layer
  // Per cut layer: the device of every block (/trace/truth/block_device/<layer>).
  std::map<std::string, std::vector<std::int64_t>> block_device;
};

}  // namespace tessera::trace
