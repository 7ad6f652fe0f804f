// Block grid (exact split and reassembly, ragged edges, bad sizes), placement on
// devices and ranks, and the /blocks group written and read back under MPI.
#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "blocks/placement.hpp"
#include "core/error.hpp"
#include "io/h5.hpp"
#include "test_util.hpp"

using namespace tessera;

TEST(Grid, RaggedGridOfVggMiniClassifier) {
  auto grid = blocks::Grid::make(1024, 6272, 100, 100, "w");
  EXPECT_EQ(grid.rows, 11);
  EXPECT_EQ(grid.cols, 63);
  EXPECT_EQ(grid.height(10), 24);
  EXPECT_EQ(grid.width(62), 72);
  EXPECT_EQ(grid.count(), 693);
  auto seed = blocks::Grid::make(1024, 6272, 64, 64, "w");
  EXPECT_EQ(seed.rows * seed.cols, 16 * 98);  // the seed's 1568-block grid
}

TEST(Grid, SplitAndAssembleAreExactInverses) {
  auto matrix = torch::randn({1024, 6272});
  auto grid = blocks::Grid::make(1024, 6272, 100, 100, "w");
  auto parts = blocks::split(matrix, grid);
  ASSERT_EQ(static_cast<std::int64_t>(parts.size()), grid.count());
  EXPECT_EQ(parts[grid.id(10, 62)].sizes().vec(), (std::vector<std::int64_t>{24, 72}));
  EXPECT_TRUE(torch::equal(parts[grid.id(3, 5)], matrix.slice(0, 300, 400).slice(1, 500, 600)));
  EXPECT_TRUE(torch::equal(blocks::assemble(parts, grid), matrix));
}

TEST(Grid, ConvWeightsAreViewedAsOutByInTimesKernel) {
  auto weight = torch::randn({128, 64, 3, 3});
  auto matrix = blocks::as_matrix(weight);
  EXPECT_EQ(matrix.sizes().vec(), (std::vector<std::int64_t>{128, 576}));
  auto grid = blocks::Grid::make(128, 576, 32, 50, "conv");
  EXPECT_TRUE(torch::equal(blocks::assemble(blocks::split(matrix, grid), grid).view({128, 64, 3, 3}), weight));
}

TEST(Grid, BadBlockSizesNameTheOption) {
  auto message = [](auto&& body) {
    try {
      body();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { blocks::Grid::make(10, 20, 0, 4, "w"); }).find("--blocks.bh"), std::string::npos);
  EXPECT_NE(message([] { blocks::Grid::make(10, 20, 4, 0, "w"); }).find("--blocks.bw"), std::string::npos);
  EXPECT_NE(message([] { blocks::Grid::make(10, 20, 11, 4, "w"); }).find("--blocks.bh"), std::string::npos);
  EXPECT_NE(message([] { blocks::Grid::make(10, 20, 4, 21, "w"); }).find("--blocks.bw"), std::string::npos);
  EXPECT_EQ(message([] { blocks::Grid::make(10, 20, 10, 20, "w"); }), "no error");
}

TEST(Placement, EveryBlockOnExactlyOneDeviceAndDevicesBalancedOverRanks) {
  auto grid = blocks::Grid::make(1024, 6272, 64, 64, "w");
  for (std::int64_t per_device : {1, 4, 7}) {
    for (const char* mode : {"random", "contiguous"}) {
      auto p = blocks::place(grid, per_device, mode, 5, 3);
      EXPECT_EQ(p.devices(), (grid.count() + per_device - 1) / per_device);
      auto held = p.blocks_of_devices();
      std::int64_t total = 0;
      for (std::size_t d = 0; d < held.size(); ++d) {
        EXPECT_LE(static_cast<std::int64_t>(held[d].size()), per_device);
        EXPECT_GE(held[d].size(), 1u);
        total += held[d].size();
      }
      EXPECT_EQ(total, grid.count());
      std::vector<int> per_rank(3, 0);
      for (auto r : p.rank_of_device) per_rank[r]++;
      EXPECT_LE(*std::max_element(per_rank.begin(), per_rank.end()) -
                    *std::min_element(per_rank.begin(), per_rank.end()), 1);
      // Ranks take devices in the order of their first block.
      std::vector<std::int32_t> rank_by_block;
      for (std::int64_t b = 0; b < grid.count(); ++b)
        if (held[p.device_of_block[b]].front() == b) rank_by_block.push_back(p.rank_of_device[p.device_of_block[b]]);
      EXPECT_TRUE(std::is_sorted(rank_by_block.begin(), rank_by_block.end()));
    }
  }
  auto contiguous = blocks::place(grid, 4, "contiguous", 5, 2);
  EXPECT_EQ(contiguous.device_of_block[9], 2);
  // One block per device: each of 2 ranks gets 8 whole block rows of the 16.
  auto single = blocks::place(grid, 1, "random", 5, 2);
  for (std::int64_t b = 0; b < grid.count(); ++b)
    EXPECT_EQ(single.rank_of_device[single.device_of_block[b]], grid.row_of(b) < 8 ? 0 : 1);
}

TEST(Placement, RandomPlacementIsSeeded) {
  auto grid = blocks::Grid::make(256, 256, 16, 16, "w");
  auto a = blocks::place(grid, 2, "random", 11, 2), b = blocks::place(grid, 2, "random", 11, 2),
       c = blocks::place(grid, 2, "random", 12, 2);
  EXPECT_EQ(a.device_of_block, b.device_of_block);
  EXPECT_NE(a.device_of_block, c.device_of_block);
}

TEST(Placement, BadSettingsAreErrors) {
  auto grid = blocks::Grid::make(64, 64, 32, 32, "w");  // 4 blocks
  EXPECT_THROW(blocks::place(grid, 0, "random", 1, 1), Error);
  EXPECT_THROW(blocks::place(grid, 5, "random", 1, 1), Error);
  EXPECT_THROW(blocks::place(grid, 1, "diagonal", 1, 1), Error);
  EXPECT_THROW(blocks::place(grid, 2, "random", 1, 3), Error);  // 2 devices, 3 ranks
}

TEST(Placement, WrittenAndReadBackOnEveryRank) {
  test::SharedTempFile temp;
  auto grid = blocks::Grid::make(1024, 6272, 100, 100, "classifier.0.weight");
  auto placement = blocks::place(grid, 4, "random", 3, 2);
  {
    auto file = h5::File::create(temp.path(), MPI_COMM_WORLD);
    blocks::write(placement, grid, "classifier.0", file.root().require_group("blocks"));
  }
  auto file = h5::File::open(temp.path(), MPI_COMM_WORLD);
  auto group = file.root().group("blocks");
  auto read_grid = blocks::read_grid(group);
  EXPECT_EQ(read_grid.rows, grid.rows);
  EXPECT_EQ(read_grid.cols, grid.cols);
  EXPECT_EQ(read_grid.bh, 100);
  EXPECT_EQ(group.attr_string("layer"), "classifier.0");
  auto read = blocks::read_placement(group);
  EXPECT_EQ(read.device_of_block, placement.device_of_block);
  EXPECT_EQ(read.rank_of_device, placement.rank_of_device);
  EXPECT_EQ(read.blocks_per_device, 4);
  EXPECT_EQ(read.mode, "random");
}
