#include "trace/fingerprint.hpp"

#include <cstdint>
#include <cstdio>

namespace tessera::trace {

namespace {
struct Fnv1a {
  std::uint64_t state = 14695981039346656037ull;
  void bytes(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) state = (state ^ p[i]) * 1099511628211ull;
  }
  void number(std::int64_t value) { bytes(&value, sizeof value); }
  void text(const std::string& value) { bytes(value.c_str(), value.size() + 1); }  // with its terminator
  void numbers(const std::vector<std::int64_t>& values) {
    number(static_cast<std::int64_t>(values.size()));
    for (auto v : values) number(v);
  }
};
}  // namespace

std::string deployment_fingerprint(const TraceFile& trace) {
  if (!trace.device_layer) return "";
  Fnv1a hash;
  hash.number(trace.devices);
  for (const auto& name : trace.layer_names) hash.text(name);
  hash.numbers(*trace.device_layer);
  for (const auto& [layer, devices] : trace.block_device) {  // a std::map: in name order
    hash.text(layer);
    hash.numbers(devices);
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash.state));
  return text;
}

}  // namespace tessera::trace
