#include "trace/devices.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::trace {

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
  const auto parameters = network.named_parameters();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    x = steps[i].apply(x);
    if (steps[i].has_parameters) {
      Layer layer;
      layer.name = steps[i].name;
      // A multiply-add per weight and output position (one position for a Linear).
      const auto* weight = parameters.find(layer.name + ".weight");
      TESSERA_ASSERT(weight, "no parameter ", layer.name, ".weight");
      layer.flops = 2.0 * static_cast<double>(weight->numel()) * static_cast<double>(x.numel() / weight->size(0));
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
  host_rank_.assign(total, 0);
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
    for (std::int64_t d = 0; d < placement.devices(); ++d) {
      layer_of_device_[id[raw + d]] = static_cast<std::int64_t>(l + 1);
      host_rank_[id[raw + d]] = placement.rank_of_device[d];
    }
    for (auto d : placement.device_of_block) layer.block_device.push_back(id[raw + d]);
    const auto& grid = layer.target->grid;
    for (std::int64_t r = 0; r < grid.rows; ++r) {
      std::int64_t last = 0;
      for (std::int64_t c = 0; c < grid.cols; ++c) last = std::max(last, placement.device_of_block[grid.id(r, c)]);
      layer.row_owner.push_back(id[raw + last]);
    }
    raw += placement.devices();
  }
  dataflow_ = build_dataflow();
}

std::int64_t LogicalDevices::exit() const { return layers_.back().device; }

Dataflow LogicalDevices::build_dataflow() const {
  Dataflow flow;
  auto node = [&](double flops, std::vector<std::int64_t> after) {
    flow.nodes.push_back({flops, std::move(after)});
    return static_cast<std::int64_t>(flow.nodes.size()) - 1;
  };
  auto send = [&](std::int64_t src, std::int64_t dst, std::int64_t features, std::int64_t from, std::int64_t to) {
    flow.messages.push_back({src, dst, features * static_cast<std::int64_t>(sizeof(float)), from, to});
  };
  const Layer* previous = nullptr;      // nullptr: the client
  std::int64_t previous_node = node(0, {});
  std::vector<std::int64_t> row_node;   // when the previous layer is cut: the node that sums each row
  for (const auto& layer : layers_) {
    const std::int64_t features = previous ? previous->out_features : input_features_;
    const blocks::Target* from = previous ? previous->target : nullptr;
    const std::int64_t producer = previous ? previous->device : client_;
    if (!layer.target) {
      const auto self = node(layer.flops, {});
      if (!from) {
        send(producer, layer.device, features, previous_node, self);
      } else {
        for (std::int64_t r = 0; r < from->grid.rows; ++r)
          send(previous->row_owner[r], layer.device, from->grid.height(r), row_node[r], self);
      }
      previous_node = self;
      row_node.clear();
    } else {
      const auto& grid = layer.target->grid;
      TESSERA_ASSERT(features == grid.in, "layer ", layer.name, " takes ", grid.in, " inputs, gets ", features);
      // One compute node per device: its blocks' products, once its input slices are in.
      std::map<std::int64_t, std::int64_t> compute;  // device -> node
      for (std::int64_t r = 0; r < grid.rows; ++r)
        for (std::int64_t c = 0; c < grid.cols; ++c) {
          const auto device = layer.block_device[grid.id(r, c)];
          if (!compute.count(device)) compute[device] = node(0, {});
          flow.nodes[compute[device]].flops += 2.0 * static_cast<double>(grid.height(r) * grid.width(c));
        }
      // Input slices x_c to the devices holding blocks of column c.
      for (std::int64_t c = 0; c < grid.cols; ++c) {
        std::vector<std::int64_t> column;
        for (std::int64_t r = 0; r < grid.rows; ++r) column.push_back(layer.block_device[grid.id(r, c)]);
        const auto holders = distinct(column);
        const std::int64_t begin = grid.col_begin(c), end = begin + grid.width(c);
        if (!from) {
          for (auto d : holders) send(producer, d, grid.width(c), previous_node, compute[d]);
        } else {
          for (std::int64_t r = 0; r < from->grid.rows; ++r) {
            const std::int64_t overlap = std::min(end, from->grid.row_begin(r) + from->grid.height(r)) -
                                         std::max(begin, from->grid.row_begin(r));
            if (overlap > 0)
              for (auto d : holders) send(previous->row_owner[r], d, overlap, row_node[r], compute[d]);
          }
        }
      }
      // Partial sums y_r to the row owners, who add them to their own and activate.
      std::vector<std::int64_t> rows;
      for (std::int64_t r = 0; r < grid.rows; ++r) {
        std::vector<std::int64_t> row;
        for (std::int64_t c = 0; c < grid.cols; ++c) row.push_back(layer.block_device[grid.id(r, c)]);
        const auto holders = distinct(row);
        const auto owner = layer.row_owner[r];
        rows.push_back(node(static_cast<double>(grid.height(r) * static_cast<std::int64_t>(holders.size())),
                            {compute[owner]}));
        for (auto d : holders)
          if (d != owner) send(d, owner, grid.height(r), compute[d], rows.back());
      }
      row_node = std::move(rows);
    }
    previous = &layer;
  }
  return flow;
}

TraceFile LogicalDevices::layout() const {
  TraceFile file;
  file.devices = count();
  file.entry = entry();
  file.exit = exit();
  file.layer_names = layer_names_;
  file.device_layer = layer_of_device_;
  for (const auto& layer : layers_)
    if (layer.target) file.block_device[layer.name] = layer.block_device;
  return file;
}

TraceFile LogicalDevices::trace(std::int64_t steps, std::int64_t batch, bool training, const DeploymentModel& model,
                                std::uint64_t seed) const {
  auto file = layout();
  file.deployment = model;
  auto rng = make_rng(seed, "trace-timing");
  const auto backward = backward_of(dataflow_);
  double clock = 0;
  for (std::int64_t s = 0; s < steps; ++s) {
    auto times = schedule(dataflow_, batch, model, clock, rng);
    append_pass(file.events, dataflow_, times, s, kForward, batch);
    clock = times.finish;
    if (!training) continue;
    times = schedule(backward, batch, model, clock, rng);
    append_pass(file.events, backward, times, s, kBackward, batch);
    clock = times.finish;
  }
  return file;
}

}  // namespace tessera::trace
