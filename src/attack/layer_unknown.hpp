// The adversary that does not know which layer its blocks belong to (the paper's
// S2, docs/DESIGN.md section 8.7): the blocks of every cut layer arrive pooled, and
// blocks of one shape fit every position of every cut layer. It first sorts the
// blocks into layers by their weights alone, then searches each layer's positions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "attack/cut_layer.hpp"
#include "attack/hijack.hpp"
#include "blocks/grid.hpp"
#include "blocks/genome.hpp"
#include "blocks/targets.hpp"

namespace tessera::attack {

// The cut layers of the targets, in their order.
std::vector<CutLayer> cut_layers(const std::vector<blocks::Target>& targets);

// The loot of every cut layer pooled and shuffled (seeded), so that neither the
// order nor the count tells a block's layer. The truth is for scoring only.
struct PooledLoot {
  torch::Tensor held;                // (H, bh, bw)
  std::vector<std::int32_t> true_layer;  // index into the cut layers
  blocks::Genome true_position;      // within its layer
};
PooledLoot pool(const std::vector<Loot>& loots, std::uint64_t seed);

// Each block's layer (an index into `layers`), from its weights alone. A trained
// layer keeps the scale of its initialisation (PyTorch's default: uniform in
// +-1/sqrt(fan-in)), so a block's median weight magnitude tells its layer: an EM fits
// one Gaussian per layer to the logarithms, starting from the initialisation's scale
// (the layers' shares of the positions are the mixing weights), and blocks go to their
// most likely layer, most likely first, at most `positions` each.
std::vector<std::int32_t> assign_layers(const torch::Tensor& held, const std::vector<CutLayer>& layers);

// The fraction of blocks whose layer is `truth`'s; and what an assignment that put
// as many blocks in each layer at random would expect.
double layer_recovery(const std::vector<std::int32_t>& found, const std::vector<std::int32_t>& truth);
double chance_layer_recovery(const std::vector<std::int32_t>& found, const std::vector<std::int32_t>& truth,
                             std::size_t layers);

// A cut layer's blocks as the adversary placed them, beside the truth.
struct PlacedLayer {
  blocks::Grid grid;
  blocks::Genome found;  // the positions of the blocks put in this layer
  blocks::Genome truth;  // their true positions; -1 for a block of another layer
  // Its outputs are the next cut layer's inputs, with only ReLU and Dropout between.
  bool feeds_next = false;
};
// The share of all placed blocks at their true layer and position once the hidden
// units between cut layers that feed each other are relabelled as well as possible.
// Relabelling hidden units (in chunks that keep blocks whole: lcm of the lower
// layer's block height and the upper layer's block width) permutes the lower layer's
// block rows and the upper layer's block columns together and leaves the function
// unchanged but for the biases, so a search that knows neither layer may find any
// relabelling (docs/DESIGN.md section 8.7). Each chunk permutation is the assignment
// of most blocks recovered given the others, until none changes.
double aligned_recovery(const std::vector<PlacedLayer>& layers);

}  // namespace tessera::attack
