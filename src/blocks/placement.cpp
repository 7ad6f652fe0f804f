#include "blocks/placement.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/h5.hpp"

namespace tessera::blocks {

std::vector<std::vector<std::int64_t>> Placement::blocks_of_devices() const {
  std::vector<std::vector<std::int64_t>> held(devices());
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(device_of_block.size()); ++b)
    held[device_of_block[b]].push_back(b);
  return held;
}

Placement place(const Grid& grid, std::int64_t blocks_per_device, const std::string& mode,
                std::uint64_t seed, int ranks) {
  const std::int64_t n = grid.count();
  TESSERA_REQUIRE(blocks_per_device >= 1 && blocks_per_device <= n, "--blocks.per_device: must be in [1, ",
                  n, "] (the grid has ", n, " blocks), got ", blocks_per_device);
  TESSERA_REQUIRE(mode == "random" || mode == "contiguous",
                  "--blocks.placement: must be random or contiguous, got '", mode, "'");
  Placement placement;
  placement.blocks_per_device = blocks_per_device;
  placement.mode = mode;

  // Slot s of the order goes to device s / blocks_per_device.
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (mode == "random") {
    auto rng = make_rng(seed, "placement");
    tessera::shuffle(order.begin(), order.end(), rng);
  }
  placement.device_of_block.resize(n);
  for (std::int64_t slot = 0; slot < n; ++slot) placement.device_of_block[order[slot]] = slot / blocks_per_device;

  const std::int64_t devices = (n + blocks_per_device - 1) / blocks_per_device;
  TESSERA_REQUIRE(ranks >= 1 && ranks <= devices, "more service ranks (", ranks, ") than devices (", devices,
                  "): use fewer ranks, smaller blocks or fewer --blocks.per_device");
  // Devices go to ranks in the order of their first block, balanced by count: a
  // rank's blocks then cluster by position (whole block rows when each device holds
  // one block), so its products pack into a few large GEMMs.
  std::vector<std::int64_t> first_block(devices, n);
  for (std::int64_t b = 0; b < n; ++b)
    first_block[placement.device_of_block[b]] = std::min(first_block[placement.device_of_block[b]], b);
  std::vector<std::int64_t> by_position(devices);
  std::iota(by_position.begin(), by_position.end(), 0);
  std::sort(by_position.begin(), by_position.end(),
            [&](std::int64_t a, std::int64_t b) { return first_block[a] < first_block[b]; });
  placement.rank_of_device.resize(devices);
  for (std::int64_t k = 0; k < devices; ++k)
    placement.rank_of_device[by_position[k]] = static_cast<std::int32_t>(k * ranks / devices);
  return placement;
}

void write(const Placement& placement, const Grid& grid, const std::string& layer, const h5::Group& group) {
  group.set_attr("layer", layer);
  group.set_attr("placement", placement.mode);
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::int64_t>>{
           {"out", grid.out}, {"in", grid.in}, {"bh", grid.bh}, {"bw", grid.bw}, {"rows", grid.rows},
           {"cols", grid.cols}, {"blocks_per_device", placement.blocks_per_device}})
    group.set_attr(name, value);
  group.create_dataset<std::int64_t>("device_of_block", {placement.device_of_block.size()})
      .write(placement.device_of_block.data());
  group.create_dataset<std::int32_t>("rank_of_device", {placement.rank_of_device.size()})
      .write(placement.rank_of_device.data());
}

Grid read_grid(const h5::Group& group) {
  return Grid::make(group.attr_int("out"), group.attr_int("in"), group.attr_int("bh"), group.attr_int("bw"),
                    group.attr_string("layer"));
}

Placement read_placement(const h5::Group& group) {
  Placement placement;
  placement.blocks_per_device = group.attr_int("blocks_per_device");
  placement.mode = group.attr_string("placement");
  placement.device_of_block = group.dataset("device_of_block").read<std::int64_t>();
  placement.rank_of_device = group.dataset("rank_of_device").read<std::int32_t>();
  return placement;
}

}  // namespace tessera::blocks
