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

}  // namespace tessera::blocks
