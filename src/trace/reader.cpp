#include "trace/reader.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "io/h5.hpp"

namespace tessera::trace {

namespace {

// The analysis keeps a few numbers per device (src/streams), sized by the device
// count: a count beyond any deployment is a damaged file, refused before it sizes
// anything (and before `largest + 1` could overflow).
constexpr std::int64_t kMaxDevices = std::int64_t{1} << 20;

}  // namespace

TraceFile read_trace(const std::string& path, MPI_Comm comm) {
  TraceFile file;
  file.path = path;
  auto h5file = h5::File::open(path, comm);
  const auto root = h5file.root();
  TESSERA_REQUIRE(root.exists("trace"), "'", path, "' has no /trace group (written by 'tessera serve')");
  const auto group = root.group("trace");
  auto& e = file.events;
  const std::vector<std::pair<const char*, std::vector<std::int64_t>*>> columns{
      {"step", &e.step}, {"phase", &e.phase}, {"seq", &e.seq}, {"src", &e.src}, {"dst", &e.dst}, {"bytes", &e.bytes}};
  for (const auto& [name, values] : columns) {
    TESSERA_REQUIRE(group.exists(name), "'", path, "': /trace/", name, " is missing");
    const auto dataset = group.dataset(name);
    TESSERA_REQUIRE(dataset.shape().size() == 1, "'", path, "': /trace/", name, " is not one-dimensional");
    *values = dataset.read<std::int64_t>();
    TESSERA_REQUIRE(values->size() == e.step.size(), "'", path, "': /trace/", name, " has ", values->size(),
                    " entries, /trace/step ", e.step.size());
  }
  TESSERA_REQUIRE(group.exists("t_start") == group.exists("t_end"), "'", path,
                  "': /trace has one of t_start and t_end without the other");
  if (group.exists("t_start")) {
    for (const auto& [name, values] : {std::pair{"t_start", &e.t_start}, std::pair{"t_end", &e.t_end}}) {
      const auto dataset = group.dataset(name);
      TESSERA_REQUIRE(dataset.shape().size() == 1, "'", path, "': /trace/", name, " is not one-dimensional");
      *values = dataset.read<double>();
      TESSERA_REQUIRE(values->size() == e.step.size(), "'", path, "': /trace/", name, " has ", values->size(),
                      " entries, /trace/step ", e.step.size());
    }
    for (std::size_t i = 0; i < e.size(); ++i)
      TESSERA_REQUIRE(std::isfinite(e.t_start[i]) && std::isfinite(e.t_end[i]) && e.t_start[i] >= 0 && e.t_end[i] >= e.t_start[i], "'", path,
                      "': event ", i, " has t_start ", e.t_start[i], " and t_end ", e.t_end[i],
                      " (finite, 0 <= t_start <= t_end)");
  }
  std::int64_t largest = -1;
  for (std::size_t i = 0; i < e.size(); ++i) {
    TESSERA_REQUIRE(e.src[i] >= 0 && e.dst[i] >= 0, "'", path, "': event ", i, " names a negative device id");
    TESSERA_REQUIRE(e.phase[i] == kForward || e.phase[i] == kBackward, "'", path, "': event ", i, " has phase ",
                    e.phase[i], " (0 forward, 1 backward)");
    TESSERA_REQUIRE(e.bytes[i] >= 0 && e.step[i] >= 0, "'", path, "': event ", i, " has a negative step or size");
    largest = std::max({largest, e.src[i], e.dst[i]});
  }
  TESSERA_REQUIRE(largest < kMaxDevices, "'", path, "': a stream names device ", largest, "; at most ", kMaxDevices,
                  " devices are supported");
  file.devices = group.has_attr("devices") ? group.attr_int("devices") : largest + 1;
  TESSERA_REQUIRE(file.devices <= kMaxDevices, "'", path, "': attr devices = ", file.devices, "; at most ",
                  kMaxDevices, " devices are supported");
  TESSERA_REQUIRE(largest < file.devices, "'", path, "': a stream names device ", largest, " of ", file.devices,
                  " (attr devices)");
  for (const auto& [name, value] : {std::pair{"forward_entry", &file.entry}, std::pair{"forward_exit", &file.exit}})
    if (group.has_attr(name)) {
      *value = group.attr_int(name);
      TESSERA_REQUIRE(**value >= 0 && **value < file.devices, "'", path, "': attr ", name, " = ", **value,
                      " is not a device of 0..", file.devices - 1);
    }
  if (group.has_attr("layer_names")) {
    std::istringstream names(group.attr_string("layer_names"));
    for (std::string line; std::getline(names, line);) file.layer_names.push_back(line);
  }
  if (group.has_attr("device_flops") && group.has_attr("latency") && group.has_attr("bandwidth") &&
      group.has_attr("jitter")) {
    const DeploymentModel m{group.attr_double("device_flops"), group.attr_double("latency"),
                            group.attr_double("bandwidth"), group.attr_double("jitter")};
    TESSERA_REQUIRE(std::isfinite(m.device_flops) && m.device_flops > 0 && std::isfinite(m.latency) &&
                        m.latency >= 0 && std::isfinite(m.bandwidth) && m.bandwidth > 0 && m.jitter >= 0 &&
                        m.jitter < 1,
                    "'", path, "': /trace attrs device_flops ", m.device_flops, ", latency ", m.latency,
                    ", bandwidth ", m.bandwidth, ", jitter ", m.jitter,
                    " (flops and bandwidth > 0, latency >= 0, jitter in [0, 1))");
    file.deployment = m;
  }
  if (group.exists("truth/device_layer")) {
    auto truth = group.dataset("truth/device_layer").read<std::int64_t>();
    TESSERA_REQUIRE(static_cast<std::int64_t>(truth.size()) == file.devices, "'", path,
                    "': /trace/truth/device_layer has ", truth.size(), " entries for ", file.devices, " devices");
    for (std::size_t d = 0; d < truth.size(); ++d)
      TESSERA_REQUIRE(truth[d] >= -1 && truth[d] < file.devices, "'", path, "': /trace/truth/device_layer gives device ",
                      d, " layer ", truth[d], " (a layer index below the device count, or -1 for a dummy)");
    file.device_layer = std::move(truth);
  }
  if (group.exists("truth/block_device")) {
    const auto tables = group.group("truth/block_device");
    for (const auto& layer : tables.children()) {
      auto devices = tables.dataset(layer).read<std::int64_t>();
      for (std::size_t b = 0; b < devices.size(); ++b)
        TESSERA_REQUIRE(devices[b] >= 0 && devices[b] < file.devices, "'", path, "': /trace/truth/block_device/",
                        layer, " gives block ", b, " device ", devices[b], " of ", file.devices);
      file.block_device[layer] = std::move(devices);
    }
  }
  h5file.close();
  return file;
}

void record_trace_path(const h5::Group& group, const std::string& trace, const std::string& output_path) {
  namespace fs = std::filesystem;
  const auto absolute = fs::weakly_canonical(fs::absolute(trace));
  const auto folder = fs::weakly_canonical(fs::absolute(output_path)).parent_path();
  group.set_attr("trace", absolute.lexically_relative(folder).string());
  group.set_attr("trace_absolute", absolute.string());
}

std::string recorded_trace_path(const h5::Group& group, const std::string& file, const std::string& option) {
  namespace fs = std::filesystem;
  const auto recorded = group.attr_string("trace");
  std::vector<fs::path> tried;
  if (fs::path(recorded).is_relative()) tried.push_back(fs::path(file).parent_path() / recorded);
  if (group.has_attr("trace_absolute")) tried.push_back(group.attr_string("trace_absolute"));
  tried.push_back(recorded);  // the rule before trace_absolute: the working folder
  std::string places;
  for (const auto& path : tried) {
    if (fs::is_regular_file(path)) return path.lexically_normal().string();
    places += (places.empty() ? "'" : ", '") + path.lexically_normal().string() + "'";
  }
  TESSERA_REQUIRE(false, option, ": '", file, "' was made from the trace '", recorded, "', which is not at ", places,
                  " (move the trace together with the file)");
  return {};
}

}  // namespace tessera::trace
