#include "trace/writer.hpp"

#include <algorithm>
#include <utility>

#include "io/h5.hpp"

namespace tessera::trace {

namespace {

template <class T>
void write_column(const h5::Group& group, const char* name, const std::vector<T>& values) {
  const hsize_t n = values.size();
  group.create_dataset<T>(name, {n}, {{std::min<hsize_t>(std::max<hsize_t>(n, 1), 1 << 16)}, {}, 1})
      .write(values.data());
}

}  // namespace

void write_trace(const TraceFile& trace, const h5::Group& root) {
  auto group = root.require_group("trace");
  group.set_attr("devices", trace.devices);
  if (trace.entry) group.set_attr("forward_entry", *trace.entry);
  if (trace.exit) group.set_attr("forward_exit", *trace.exit);
  if (!trace.layer_names.empty()) {
    std::string names;
    for (const auto& name : trace.layer_names) names += (names.empty() ? "" : "\n") + name;
    group.set_attr("layer_names", names);
  }
  if (trace.deployment) {
    group.set_attr("device_flops", trace.deployment->device_flops);
    group.set_attr("latency", trace.deployment->latency);
    group.set_attr("bandwidth", trace.deployment->bandwidth);
    group.set_attr("jitter", trace.deployment->jitter);
  }
  const auto& e = trace.events;
  for (const auto& [name, values] : std::vector<std::pair<const char*, const std::vector<std::int64_t>*>>{
           {"step", &e.step}, {"phase", &e.phase}, {"seq", &e.seq}, {"src", &e.src}, {"dst", &e.dst},
           {"bytes", &e.bytes}})
    write_column(group, name, *values);
  if (e.timed()) {
    write_column(group, "t_start", e.t_start);
    write_column(group, "t_end", e.t_end);
  }
  if (trace.device_layer)
    group.require_group("truth").create_dataset<std::int64_t>("device_layer", {trace.device_layer->size()})
        .write(trace.device_layer->data());
  for (const auto& [layer, devices] : trace.block_device)
    group.require_group("truth").require_group("block_device").create_dataset<std::int64_t>(layer, {devices.size()})
        .write(devices.data());
}

}  // namespace tessera::trace
