// The logical device-to-device streams a real deployment of the service would
// send (docs/DESIGN.md section 3), recorded per step. Devices: a client (the input source),
// one device per layer that is not cut into blocks, and the devices holding each
// target layer's blocks. Per sharded layer and step:
//   forward:  the producer of input slice x_c sends it to every device holding a
//             block in column c; each block device sends its partial y_r to the
//             row owner of r; the row owner sends its activated slice on to the
//             consumers in the next layer. The row owner is the row's last device
//             in placement order, so partial sums only flow from earlier to later
//             devices and the graph stays acyclic when devices hold several blocks;
//   backward: the same edges reversed, in reverse order, with the same sizes.
// Layers that are not sharded send their whole activation to the next layer.
// Forward has one entry (the client) and one exit (the last layer's device);
// backward the reverse. Device ids are shuffled (seeded), so an eavesdropper learns
// nothing from their order; /trace/truth/device_layer holds the truth. Every message
// gets its times from the dataflow of the pass (trace/timing.hpp): a block device
// computes once its input slices have arrived, a row owner sums once its row's
// partials have arrived and its own blocks are done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "blocks/targets.hpp"
#include "models/registry.hpp"
#include "trace/events.hpp"
#include "trace/timing.hpp"

namespace tessera::trace {

class LogicalDevices {
 public:
  // `network` must still hold its full weights (shapes are read from a forward pass
  // of one image of `sample_shape` = {C, H, W}).
  LogicalDevices(models::Network& network, const std::vector<blocks::Target>& targets,
                 const std::vector<std::int64_t>& sample_shape, std::uint64_t seed);

  std::int64_t count() const { return static_cast<std::int64_t>(layer_of_device_.size()); }
  // The layer index of every device id: 0 is the client, 1.. the network's layers.
  const std::vector<std::int64_t>& layer_of_device() const { return layer_of_device_; }
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  // The rank that hosts every device: a block device's placement rank; rank 0 for the
  // client and the layers that are not cut (which every rank runs, data-parallel).
  const std::vector<std::int32_t>& host_rank() const { return host_rank_; }
  std::int64_t entry() const { return client_; }
  std::int64_t exit() const;

  // The trace's header without events: the device count, entry and exit, the layer
  // names and the truth tables (which device holds what).
  TraceFile layout() const;
  // The trace of `steps` steps of a batch of `batch` images (backward too when
  // training), one after the other, timed under `model` with jitter drawn from `seed`.
  TraceFile trace(std::int64_t steps, std::int64_t batch, bool training, const DeploymentModel& model,
                  std::uint64_t seed) const;
  // The work of one forward pass (per image).
  const Dataflow& dataflow() const { return dataflow_; }

 private:
  struct Layer {
    std::string name;
    std::int64_t out_features = 0;  // per image, after the steps attached to it
    double flops = 0;               // per image
    const blocks::Target* target = nullptr; // set when cut into blocks
    std::int64_t device = -1;       // its device, when not cut into blocks
    std::vector<std::int64_t> block_device;  // when cut: device id of every block
    std::vector<std::int64_t> row_owner;     // when cut: device id of every row's owner
  };
  Dataflow build_dataflow() const;

  std::vector<Layer> layers_;
  std::vector<std::int64_t> layer_of_device_;
  std::vector<std::int32_t> host_rank_;
  std::vector<std::string> layer_names_;
  std::int64_t client_ = 0, input_features_ = 0;
  Dataflow dataflow_;
};

}  // namespace tessera::trace
