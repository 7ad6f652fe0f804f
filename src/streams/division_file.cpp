#include "streams/division_file.hpp"

namespace tessera::streams {

namespace {

void write_ints(const h5::Group& group, const std::string& name, const std::vector<std::int64_t>& values) {
  group.create_dataset<std::int64_t>(name, {values.size()}).write(values.data());
}

}  // namespace

std::string write_division(const h5::Group& group, const DivisionRecord& r) {
  const auto& division = r.result.division;
  group.set_attr("method", r.method);
  group.set_attr("view", view_name(r.view));
  group.set_attr("th", r.th);
  group.set_attr("phase", r.phase);
  group.set_attr("step", r.step);
  group.set_attr("devices", r.file.devices);
  group.set_attr("entry", r.seen.entry);
  group.set_attr("exit", r.seen.exit);
  group.set_attr("streams", r.seen.streams);
  group.set_attr("bytes", r.seen.bytes);
  group.set_attr("streams_set_aside", r.seen.set_aside);
  group.set_attr("groups", division.groups);
  if (r.learned) {
    std::string files;
    for (const auto& path : r.learned->train) files += (files.empty() ? "" : "\n") + path;
    group.set_attr("train", files);
    group.set_attr("training_accuracy", r.learned->training_accuracy);
    group.set_attr("learn_epochs", r.learned->epochs);
  }
  if (r.method == "sequential") group.set_attr("connectivity", r.result.connectivity);
  write_ints(group, "group", division.group);
  write_ints(group, "pivots", division.pivots);
  if (!r.result.reachable.empty()) write_ints(group, "reachable", r.result.reachable);
  if (!r.file.device_layer) return "no truth in the trace: not scored";
  const auto score = score_division(division.group, *r.file.device_layer);
  group.set_attr("adjusted_rand_index", score.adjusted_rand_index);
  group.set_attr("exact_fraction", score.exact_fraction);
  group.set_attr("groups_found", score.groups_found);
  group.set_attr("layers", score.layers);
  write_ints(group, "true_layer", *r.file.device_layer);
  return "adjusted Rand index " + std::to_string(score.adjusted_rand_index) + ", " +
         std::to_string(score.exact_fraction) + " of the devices in exactly their layer, " +
         std::to_string(score.groups_found) + " groups for " + std::to_string(score.layers) + " layers";
}

}  // namespace tessera::streams
