#include "service/trace.hpp"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/h5.hpp"

namespace tessera::service {

namespace {

// Distinct devices holding a block in column c (or row r), in block order.
std::vector<std::int64_t> distinct(std::vector<std::int64_t> devices) {
  std::vector<std::int64_t> seen;
  for (auto d : devices)
    if (std::find(seen.begin(), seen.end(), d) == seen.end()) seen.push_back(d);
  return seen;
}

}  // namespace

LogicalDevices::LogicalDevices(models::Network& network, const std::vector<blocks::Target>& targets,
                               const std::vector<std::int64_t>& sample_shape, std::uint64_t seed) {
  // Output size per image of every layer, with the parameter-free steps that follow it.
  torch::NoGradGuard no_grad;
  const bool training = network.is_training();
  network.eval();  // shapes only; dropout off
  auto shape = sample_shape;
  shape.insert(shape.begin(), 1);
  auto x = torch::zeros(shape);
  input_features_ = x.numel();
  const auto& steps = network.steps();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    x = steps[i].apply(x);
    if (steps[i].has_parameters) {
      Layer layer;
      layer.name = steps[i].name;
      for (const auto& t : targets)
        if (t.step == i) layer.target = &t;
      layers_.push_back(std::move(layer));
    }
    if (!layers_.empty()) layers_.back().out_features = x.numel();
  }
  network.train(training);
  TESSERA_ASSERT(!layers_.empty());
  TESSERA_REQUIRE(!layers_.back().target, "--blocks.layers: the output layer '", layers_.back().name,
                  "' cannot be cut into blocks (its device is the exit of the stream graph)");

  // Raw ids in layer order, then a seeded shuffle.
  std::int64_t total = 1;
  for (const auto& layer : layers_) total += layer.target ? layer.target->placement.devices() : 1;
  std::vector<std::int64_t> id(total);
  std::iota(id.begin(), id.end(), 0);
  auto rng = make_rng(seed, "trace-device-ids");
  tessera::shuffle(id.begin(), id.end(), rng);
  layer_of_device_.assign(total, 0);
  layer_names_ = {"client"};
  client_ = id[0];
  std::int64_t raw = 1;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    auto& layer = layers_[l];
    layer_names_.push_back(layer.name);
    if (!layer.target) {
      layer.device = id[raw++];
      layer_of_device_[layer.device] = static_cast<std::int64_t>(l + 1);
      continue;
    }
    const auto& placement = layer.target->placement;
    for (std::int64_t d = 0; d < placement.devices(); ++d) layer_of_device_[id[raw + d]] = static_cast<std::int64_t>(l + 1);
    for (auto d : placement.device_of_block) layer.block_device.push_back(id[raw + d]);
    const auto& grid = layer.target->grid;
    for (std::int64_t r = 0; r < grid.rows; ++r) {
      std::int64_t last = 0;
      for (std::int64_t c = 0; c < grid.cols; ++c) last = std::max(last, placement.device_of_block[grid.id(r, c)]);
      layer.row_owner.push_back(id[raw + last]);
    }
    raw += placement.devices();
  }
}

std::int64_t LogicalDevices::exit() const { return layers_.back().device; }

std::vector<LogicalDevices::Edge> LogicalDevices::forward_edges() const {
  std::vector<Edge> edges;
  const Layer* previous = nullptr;  // nullptr: the client
  for (const auto& layer : layers_) {
    const std::int64_t features = previous ? previous->out_features : input_features_;
    const blocks::Target* from = previous ? previous->target : nullptr;
    auto row_owner = [&](std::int64_t r) { return previous->row_owner[r]; };
    if (!layer.target) {
      if (!from) {
        edges.push_back({previous ? previous->device : client_, layer.device, features});
      } else {
        for (std::int64_t r = 0; r < from->grid.rows; ++r) edges.push_back({row_owner(r), layer.device, from->grid.height(r)});
      }
    } else {
      const auto& grid = layer.target->grid;
      TESSERA_ASSERT(features == grid.in, "layer ", layer.name, " takes ", grid.in, " inputs, gets ", features);
      // Input slices x_c to the devices holding blocks of column c.
      for (std::int64_t c = 0; c < grid.cols; ++c) {
        std::vector<std::int64_t> column;
        for (std::int64_t r = 0; r < grid.rows; ++r) column.push_back(layer.block_device[grid.id(r, c)]);
        const auto holders = distinct(column);
        const std::int64_t begin = grid.col_begin(c), end = begin + grid.width(c);
        if (!from) {
          for (auto d : holders) edges.push_back({previous ? previous->device : client_, d, grid.width(c)});
        } else {
          for (std::int64_t r = 0; r < from->grid.rows; ++r) {
            const std::int64_t overlap = std::min(end, from->grid.row_begin(r) + from->grid.height(r)) -
                                         std::max(begin, from->grid.row_begin(r));
            if (overlap > 0)
              for (auto d : holders) edges.push_back({row_owner(r), d, overlap});
          }
        }
      }
      // Partial sums y_r to the row owners.
      for (std::int64_t r = 0; r < grid.rows; ++r) {
        std::vector<std::int64_t> row;
        for (std::int64_t c = 0; c < grid.cols; ++c) row.push_back(layer.block_device[grid.id(r, c)]);
        const auto owner = layer.row_owner[r];
        for (auto d : distinct(row))
          if (d != owner) edges.push_back({d, owner, grid.height(r)});
      }
    }
    previous = &layer;
  }
  return edges;
}

TraceEvents LogicalDevices::events(std::int64_t steps, std::int64_t batch, bool training) const {
  const auto edges = forward_edges();
  TraceEvents events;
  auto add = [&](std::int64_t step, std::int64_t phase, std::int64_t seq, std::int64_t src, std::int64_t dst,
                 std::int64_t per_image) {
    events.step.push_back(step);
    events.phase.push_back(phase);
    events.seq.push_back(seq);
    events.src.push_back(src);
    events.dst.push_back(dst);
    events.bytes.push_back(per_image * batch * static_cast<std::int64_t>(sizeof(float)));
  };
  for (std::int64_t s = 0; s < steps; ++s) {
    for (std::size_t e = 0; e < edges.size(); ++e) add(s, kForward, e, edges[e].src, edges[e].dst, edges[e].bytes_per_image);
    if (!training) continue;
    for (std::size_t e = 0; e < edges.size(); ++e) {
      const auto& edge = edges[edges.size() - 1 - e];
      add(s, kBackward, e, edge.dst, edge.src, edge.bytes_per_image);
    }
  }
  return events;
}

void write_trace(const LogicalDevices& devices, const TraceEvents& events, const h5::Group& root) {
  auto trace = root.require_group("trace");
  trace.set_attr("devices", devices.count());
  trace.set_attr("forward_entry", devices.entry());
  trace.set_attr("forward_exit", devices.exit());
  std::string names;
  for (const auto& name : devices.layer_names()) names += (names.empty() ? "" : "\n") + name;
  trace.set_attr("layer_names", names);
  const hsize_t n = events.size();
  for (const auto& [name, values] : std::vector<std::pair<const char*, const std::vector<std::int64_t>*>>{
           {"step", &events.step}, {"phase", &events.phase}, {"seq", &events.seq},
           {"src", &events.src}, {"dst", &events.dst}, {"bytes", &events.bytes}})
    trace.create_dataset<std::int64_t>(name, {n}, {{std::min<hsize_t>(std::max<hsize_t>(n, 1), 1 << 16)}, {}, 1})
        .write(values->data());
  const auto& truth = devices.layer_of_device();
  trace.require_group("truth").create_dataset<std::int64_t>("device_layer", {truth.size()}).write(truth.data());
}

}  // namespace tessera::service
