// The layers of a model cut into blocks ("targets"), with their grids and the
// placement of their blocks on devices and ranks. The service serves them, the
// sweeps and the attack take the adversary's share of them, `tessera blocks`
// writes them (docs/DESIGN.md section 3.1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "blocks/grid.hpp"
#include "blocks/placement.hpp"
#include "models/registry.hpp"

namespace tessera::h5 {
class Group;
}

namespace tessera::blocks {

// The blocks.* options.
struct Settings {
  std::vector<std::string> layers;  // empty: the largest Linear
  std::int64_t bh = 64, bw = 64, per_device = 1;
  std::string placement = "random";
  std::uint64_t seed = 1;
};

// One layer cut into blocks.
struct Target {
  std::string layer;  // e.g. "classifier.0"
  std::size_t step = 0;  // its index in the network's steps
  Grid grid;
  Placement placement;
};

// Validates the layers, block sizes and rank count; errors name the option. Only
// Linear layers are cut unless `linear_only` is false (any weight can be placed).
// Targets come in the network's order.
std::vector<Target> plan(const models::Network& network, const Settings& settings, int ranks,
                         bool linear_only = true);

// /blocks (docs/DESIGN.md section 4) for the first target; further targets in
// /blocks/more/<layer> with the same layout (collective).
void write_targets(const std::vector<Target>& targets, const h5::Group& root);

// Empty when `root`'s /blocks holds these targets, cut and placed on devices the
// same way (the ranks that served them aside), else what differs: a file that
// collects runs holds runs of one cut only.
std::string difference_from_file(const std::vector<Target>& targets, const h5::Group& root);

}  // namespace tessera::blocks
