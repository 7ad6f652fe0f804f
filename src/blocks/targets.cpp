#include "blocks/targets.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/h5.hpp"

namespace tessera::blocks {

std::vector<Target> plan(const models::Network& network, const Settings& settings, int ranks, bool linear_only) {
  auto layers = settings.layers;
  if (layers.empty()) layers.push_back(models::largest_linear(network));
  std::vector<Target> targets;
  const auto& steps = network.steps();
  for (const auto& layer : layers) {
    std::size_t index = 0;
    while (index < steps.size() && steps[index].name != layer) ++index;
    TESSERA_REQUIRE(index < steps.size() && steps[index].has_parameters, "--blocks.layers: the model has no layer '",
                    layer, "'");
    TESSERA_REQUIRE(!linear_only || steps[index].linear, "--blocks.layers: '", layer,
                    "' is not a Linear layer (the service cuts Linear layers)");
    for (const auto& t : targets) TESSERA_REQUIRE(t.layer != layer, "--blocks.layers: '", layer, "' listed twice");
    torch::Tensor weight;
    for (const auto& item : network.named_parameters())
      if (item.key() == layer + ".weight") weight = as_matrix(item.value());
    Target target;
    target.layer = layer;
    target.step = index;
    target.grid = Grid::make(weight.size(0), weight.size(1), settings.bh, settings.bw, layer + ".weight");
    target.placement = place(target.grid, settings.per_device, settings.placement,
                                     derive_seed(settings.seed, "placement:" + layer), ranks);
    targets.push_back(std::move(target));
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) { return a.step < b.step; });
  return targets;
}

void write_targets(const std::vector<Target>& targets, const h5::Group& root) {
  auto group = root.require_group("blocks");
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& target = targets[t];
    if (t == 0)
      write(target.placement, target.grid, target.layer, group);
    else
      write(target.placement, target.grid, target.layer, group.require_group("more/" + target.layer));
  }
}

std::string difference_from_file(const std::vector<Target>& targets, const h5::Group& root) {
  if (!root.exists("blocks")) return "it has no /blocks";
  const auto blocks = root.group("blocks");
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const auto& target = targets[t];
    const auto path = t == 0 ? std::string() : "more/" + target.layer;
    if (!path.empty() && !blocks.exists(path)) return "its /blocks does not cut " + target.layer;
    const auto group = blocks.group(path.empty() ? "." : path);
    if (group.attr_string("layer") != target.layer)
      return "its /blocks cuts " + group.attr_string("layer") + ", this run " + target.layer;
    const auto grid = read_grid(group);
    if (grid.bh != target.grid.bh || grid.bw != target.grid.bw || grid.out != target.grid.out ||
        grid.in != target.grid.in)
      return "its " + target.layer + " is cut in " + std::to_string(grid.bh) + "x" + std::to_string(grid.bw) +
             " blocks, this run's in " + std::to_string(target.grid.bh) + "x" + std::to_string(target.grid.bw);
    const auto placement = read_placement(group);
    if (placement.device_of_block != target.placement.device_of_block ||
        placement.blocks_per_device != target.placement.blocks_per_device)
      return "its blocks of " + target.layer + " are on other devices (another --run.seed, --blocks.placement or "
             "--blocks.per_device)";
  }
  const auto more = blocks.exists("more") ? blocks.group("more").children().size() : 0;
  if (more + 1 != targets.size()) return "its /blocks cuts " + std::to_string(more + 1) + " layers, this run " +
                                         std::to_string(targets.size());
  return {};
}

}  // namespace tessera::blocks
