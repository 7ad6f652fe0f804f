// The layer-unknown adversary's pieces (docs/DESIGN.md section 8.7): blocks sorted
// into layers by their scale, recovery up to relabelled hidden units, and chance.
#include <gtest/gtest.h>

#include "attack/layer_unknown.hpp"
#include "attack/stream_layers.hpp"

using namespace tessera;

namespace {

// `count` blocks (bh, bw) uniform in +-1/sqrt(fan_in), as PyTorch initialises them.
torch::Tensor initial_blocks(std::int64_t count, std::int64_t fan_in, std::uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  return torch::rand({count, 8, 8}, generator).mul(2 * bound).sub(bound);
}

}  // namespace

TEST(LayerUnknown, SortsBlocksByTheirInitialScale) {
  // 40 blocks of a layer of fan-in 1600 and 10 of one of fan-in 100 (4x the scale),
  // interleaved; the layers have 60 and 12 positions.
  auto lower = initial_blocks(40, 1600, 1), upper = initial_blocks(10, 100, 2);
  std::vector<torch::Tensor> pooled;
  std::vector<std::int32_t> truth;
  for (std::int64_t k = 0; k < 50; ++k) {
    const bool up = k % 5 == 0;
    pooled.push_back(up ? upper[k / 5] : lower[k - k / 5 - 1]);
    truth.push_back(up ? 1 : 0);
  }
  const auto found = attack::assign_layers(torch::stack(pooled), {{"a", 60, 1600}, {"b", 12, 100}});
  EXPECT_EQ(found, truth);
  EXPECT_DOUBLE_EQ(attack::layer_recovery(found, truth), 1.0);
  // A random sort with 40 and 10 blocks per layer: (40 * 40 + 10 * 10) / 50^2.
  EXPECT_DOUBLE_EQ(attack::chance_layer_recovery(found, truth, 2), 0.68);
}

TEST(LayerUnknown, NoLayerTakesMoreBlocksThanItHasPositions) {
  // Every block looks like the upper layer's, which has room for 3.
  const auto found = attack::assign_layers(initial_blocks(8, 100, 3), {{"a", 20, 1600}, {"b", 3, 100}});
  EXPECT_EQ(std::count(found.begin(), found.end(), 1), 3);
  EXPECT_EQ(std::count(found.begin(), found.end(), 0), 5);
}

TEST(LayerUnknown, PlaceBlocksPutsEachBlockWhereItSays) {
  const auto grid = blocks::Grid::make(4, 6, 2, 3, "w");  // 2 x 2 positions
  auto b = torch::arange(12, torch::kFloat32).view({2, 2, 3});
  auto weight = blocks::place_blocks(grid, b, {3, 0});
  EXPECT_TRUE(torch::equal(weight.narrow(0, 2, 2).narrow(1, 3, 3), b[0]));
  EXPECT_TRUE(torch::equal(weight.narrow(0, 0, 2).narrow(1, 0, 3), b[1]));
  EXPECT_EQ(weight.abs().sum().item<float>(), b.abs().sum().item<float>());
}

// Two cut layers with 8 hidden units between them: the lower layer (8 x 4, blocks 2x2:
// 4 rows of 2 groups) feeds the upper one (4 x 8, blocks 2x4: 2 rows of 2 groups);
// chunks of lcm(2, 4) = 4 hidden units: two lower block rows, one upper block column.
struct TwoLayers {
  blocks::Grid lower = blocks::Grid::make(8, 4, 2, 2, "lower"), upper = blocks::Grid::make(4, 8, 2, 4, "upper");
  // Every block at its true position, then the two chunks of hidden units swapped.
  std::vector<attack::PlacedLayer> relabelled(bool feeds) const {
    attack::PlacedLayer a{lower, {}, {}, feeds}, b{upper, {}, {}, false};
    for (std::int32_t p = 0; p < lower.count(); ++p) {
      const auto r = p / lower.cols, c = p % lower.cols;
      a.truth.push_back(p);
      a.found.push_back(static_cast<std::int32_t>(((r + 2) % 4) * lower.cols + c));
    }
    for (std::int32_t p = 0; p < upper.count(); ++p) {
      const auto r = p / upper.cols, c = p % upper.cols;
      b.truth.push_back(p);
      b.found.push_back(static_cast<std::int32_t>(r * upper.cols + (1 - c)));
    }
    return {a, b};
  }
};

TEST(LayerUnknown, RelabelledHiddenUnitsCountAsRecovered) {
  const TwoLayers two;
  auto layers = two.relabelled(true);
  double raw = 0;
  for (const auto& l : layers)
    for (std::size_t k = 0; k < l.found.size(); ++k) raw += l.found[k] == l.truth[k];
  EXPECT_EQ(raw, 0);
  EXPECT_DOUBLE_EQ(attack::aligned_recovery(layers), 1.0);
  // Not fed through ReLU and Dropout only: no relabelling is allowed.
  EXPECT_DOUBLE_EQ(attack::aligned_recovery(two.relabelled(false)), 0.0);
}

TEST(LayerUnknown, AlignedRecoveryCountsOnlyBlocksOfTheirOwnLayer) {
  const TwoLayers two;
  auto layers = two.relabelled(true);
  // Half of the lower layer's blocks belong in the other layer.
  for (std::size_t k = 0; k < layers[0].truth.size(); k += 2) layers[0].truth[k] = -1;
  const double placed = static_cast<double>(layers[0].found.size() + layers[1].found.size());
  EXPECT_DOUBLE_EQ(attack::aligned_recovery(layers), (placed - 4) / placed);
}

// The eavesdropper's groups may put more of the adversary's blocks in one group than
// that layer has positions (an obfuscated trace, or groups that merge layers): no
// layer takes more than its positions, the surplus goes to the nearest layer with
// room, and groups that match the layers still give every block its layer.
TEST(LayersFromStreams, NoLayerTakesMoreBlocksThanItHasPositions) {
  attack::StreamGroups streams;
  // Devices 0-2 hold layer a's 3 blocks, 3-8 layer b's 6; the eavesdropper put
  // devices 0-6 in group 5 and 7-8 in group 9.
  streams.group = {5, 5, 5, 5, 5, 5, 5, 9, 9};
  streams.block_device["a"] = {0, 1, 2};
  streams.block_device["b"] = {3, 4, 5, 6, 7, 8};
  // The adversary holds every block: 3 of a, 6 of b (table, entry).
  const std::vector<std::int32_t> table = {0, 0, 0, 1, 1, 1, 1, 1, 1}, entry = {0, 1, 2, 0, 1, 2, 3, 4, 5};
  const auto found = attack::layers_from_streams(streams, {{"a", 3}, {"b", 6}}, table, entry);
  ASSERT_EQ(found.size(), 9u);
  EXPECT_EQ(std::count(found.begin(), found.end(), 0), 3);  // group 5 has 7 blocks, layer a room for 3
  EXPECT_EQ(std::count(found.begin(), found.end(), 1), 6);
  EXPECT_EQ(found[7], 1);  // group 9's blocks are b's
  EXPECT_EQ(found[8], 1);

  // Groups that match the layers: every block its own layer.
  streams.group = {1, 1, 1, 2, 2, 2, 2, 2, 2};
  EXPECT_EQ(attack::layers_from_streams(streams, {{"a", 3}, {"b", 6}}, table, entry), table);

  // Fewer groups than layers: the one group fills the first layer, the rest go on.
  streams.group.assign(9, 4);
  const auto merged = attack::layers_from_streams(streams, {{"a", 3}, {"b", 6}}, table, entry);
  EXPECT_EQ(std::count(merged.begin(), merged.end(), 0), 3);
  EXPECT_EQ(std::count(merged.begin(), merged.end(), 1), 6);
}
