// Who holds what: blocks -> devices (blocks_per_device each, seeded random or
// contiguous) -> ranks (balanced, in the order of each device's first block).
// Devices are logical; a rank hosts many of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "blocks/grid.hpp"

namespace tessera::h5 {
class Group;
}

namespace tessera::blocks {

struct Placement {
  std::int64_t blocks_per_device = 1;
  std::string mode;                        // "random" or "contiguous"
  std::vector<std::int64_t> device_of_block;  // size N (blocks)
  std::vector<std::int32_t> rank_of_device;   // size D (devices)

  std::int64_t devices() const { return static_cast<std::int64_t>(rank_of_device.size()); }
  std::vector<std::vector<std::int64_t>> blocks_of_devices() const;
};

// Errors name --blocks.per_device, --blocks.placement, or the rank count.
Placement place(const Grid& grid, std::int64_t blocks_per_device, const std::string& mode,
                std::uint64_t seed, int ranks);

// The /blocks group of docs/DESIGN.md section 4 (collective).
void write(const Placement& placement, const Grid& grid, const std::string& layer, const h5::Group& group);
Placement read_placement(const h5::Group& group);
Grid read_grid(const h5::Group& group);

}  // namespace tessera::blocks
