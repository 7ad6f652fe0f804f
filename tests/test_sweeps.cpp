// The adversary: held sets and transpositions, the grid syntax, the fast evaluator
// against an independent computation (the full model's forward with the candidate
// weight: blocks zeroed or moved), and the sweeps' groups written and read back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"
#include "blocks/targets.hpp"
#include "sweeps/evaluator.hpp"
#include "sweeps/adversary.hpp"
#include "sweeps/sweep.hpp"
#include "sweeps/sweep_file.hpp"
#include "test_util.hpp"

using namespace tessera;

namespace {

blocks::Placement placement_of(const blocks::Grid& grid, std::int64_t per_device) {
  return blocks::place(grid, per_device, "random", 4, 1);
}

// The candidate weight built by hand: held blocks at their positions, zeros elsewhere.
torch::Tensor candidate_weight(const torch::Tensor& weight, const blocks::Grid& grid,
                               const std::vector<std::int64_t>& held, const std::vector<std::int64_t>& position) {
  auto parts = blocks::split(weight, grid);
  std::vector<torch::Tensor> placed;
  for (const auto& p : parts) placed.push_back(torch::zeros_like(p));
  for (std::size_t k = 0; k < held.size(); ++k) placed[position[k]] = parts[held[k]];
  return blocks::assemble(placed, grid);
}

}  // namespace

TEST(Adversary, HeldSetsHaveTheDropRateAndNest) {
  auto grid = blocks::Grid::make(1024, 6272, 64, 64, "w");
  auto placement = placement_of(grid, 1);
  std::vector<std::int64_t> previous;
  for (double rate : {1.0, 0.99, 0.9, 0.5, 0.0}) {
    auto held = sweeps::held_blocks(placement, rate, 3, 0);
    EXPECT_EQ(static_cast<std::int64_t>(held.size()), std::llround((1 - rate) * 1568));
    EXPECT_TRUE(std::includes(held.begin(), held.end(), previous.begin(), previous.end()));
    previous = held;
  }
  EXPECT_NE(sweeps::held_blocks(placement, 0.5, 3, 0), sweeps::held_blocks(placement, 0.5, 3, 1));
  EXPECT_EQ(sweeps::held_blocks(placement, 0.5, 3, 1), sweeps::held_blocks(placement, 0.5, 3, 1));
}

TEST(Adversary, WholeDevicesAreCompromised) {
  auto grid = blocks::Grid::make(256, 256, 16, 16, "w");
  auto placement = placement_of(grid, 4);
  auto held = sweeps::held_blocks(placement, 0.7, 1, 0);
  std::set<std::int64_t> devices;
  for (auto b : held) devices.insert(placement.device_of_block[b]);
  EXPECT_EQ(held.size(), devices.size() * 4);  // every block of each compromised device
  EXPECT_GE(static_cast<double>(held.size()), 0.3 * 256);
}

TEST(Adversary, TranspositionsPermuteHeldPositionsAmongSameShapes) {
  auto grid = blocks::Grid::make(100, 100, 30, 30, "w");  // ragged: 4 x 4 blocks, edges 10 wide
  auto held = sweeps::held_blocks(placement_of(grid, 1), 0.0, 1, 0);
  EXPECT_EQ(sweeps::transposed_positions(held, grid, 0, 9), held);
  auto moved = sweeps::transposed_positions(held, grid, 25, 9);
  EXPECT_EQ(std::multiset<std::int64_t>(moved.begin(), moved.end()),
            std::multiset<std::int64_t>(held.begin(), held.end()));
  EXPECT_NE(moved, held);
  for (std::size_t k = 0; k < held.size(); ++k) {
    EXPECT_EQ(grid.height(grid.row_of(held[k])), grid.height(grid.row_of(moved[k])));
    EXPECT_EQ(grid.width(grid.col_of(held[k])), grid.width(grid.col_of(moved[k])));
  }
  EXPECT_EQ(moved, sweeps::transposed_positions(held, grid, 25, 9));
  EXPECT_THROW(sweeps::transposed_positions({3}, grid, 1, 9), Error);
}

TEST(Sweep, GridSyntax) {
  auto fine = sweeps::parse_grid("0.9:1.0:0.001", "--x");
  ASSERT_EQ(fine.size(), 101u);
  EXPECT_EQ(fine.back(), 1.0);
  EXPECT_EQ(fine[50], 0.95);
  EXPECT_EQ(sweeps::parse_grid("0.5:0.88:0.02", "--x").size(), 20u);
  EXPECT_EQ(sweeps::parse_grid("0:375:25", "--x").size(), 16u);
  EXPECT_EQ(sweeps::parse_grid("0.1, 0.3,0.2", "--x"), (std::vector<double>{0.1, 0.3, 0.2}));
  EXPECT_THROW(sweeps::parse_grid("0.1:x:0.1", "--x"), Error);
  EXPECT_THROW(sweeps::parse_grid("0.5:0.1:0.1", "--x"), Error);
  EXPECT_THROW(sweeps::parse_grid("", "--x"), Error);
}

TEST(Evaluator, EqualsTheFullModelWithTheCandidateWeight) {
  auto victim = models::build("vgg-mini", 6);
  auto data = data::load("fashion-mnist", "", 1, 300);
  blocks::Settings options;
  options.bh = options.bw = 100;  // ragged blocks
  auto target = blocks::plan(*victim, options, 1).front();
  sweeps::Evaluator evaluator(*victim, target.layer, target.grid, data.test);

  torch::Tensor weight;
  for (auto& item : victim->named_parameters())
    if (item.key() == "classifier.0.weight") weight = item.value().detach().clone();
  auto held = sweeps::held_blocks(target.placement, 0.6, 2, 0);
  for (std::int64_t pairs : {0, 40}) {
    auto position = sweeps::transposed_positions(held, target.grid, pairs, 77);
    auto score = evaluator.score(held, position);
    // Independent: the plain forward of a copy whose classifier.0 is the candidate.
    auto copy = models::build("vgg-mini", 6);
    {
      torch::NoGradGuard no_grad;
      for (auto& item : copy->named_parameters())
        if (item.key() == "classifier.0.weight") item.value().copy_(candidate_weight(weight, target.grid, held, position));
    }
    copy->eval();
    torch::NoGradGuard no_grad;
    auto logits = copy->forward(data.test.images);
    const double accuracy = logits.argmax(1).eq(data.test.labels).sum().item<double>() / data.test.size();
    EXPECT_DOUBLE_EQ(score.accuracy, accuracy) << pairs << " pairs";
    EXPECT_NEAR(score.loss, torch::nn::functional::cross_entropy(logits, data.test.labels).item<double>(), 1e-5);
  }
  // All blocks in place: the victim itself.
  auto all = sweeps::held_blocks(target.placement, 0.0, 2, 0);
  auto full = evaluator.score(all, all);
  EXPECT_DOUBLE_EQ(full.accuracy, evaluator.victim().accuracy);
  EXPECT_DOUBLE_EQ(full.fidelity, 1.0);
}

// The incremental sweeps (nested held sets, nested transpositions) give what
// scoring every point from scratch gives.
TEST(Sweep, IncrementalSweepsEqualPointByPointScores) {
  auto victim = models::build("vgg-mini", 8);
  auto data = data::load("fashion-mnist", "", 1, 400);
  blocks::Settings options;
  options.bh = options.bw = 128;
  auto target = blocks::plan(*victim, options, 1).front();
  sweeps::Evaluator evaluator(*victim, target.layer, target.grid, data.test);
  const std::vector<double> rates{0.9, 0.5, 0.7, 0.95, 0.6, 0.8, 0.85, 0.75, 0.65, 0.55};  // two segments, unsorted
  const std::int64_t repeats = 2;
  auto drop = sweeps::drop_sweep(MPI_COMM_SELF, evaluator, target.placement, rates, repeats, 3);
  for (std::size_t a = 0; a < rates.size(); ++a)
    for (std::int64_t k = 0; k < repeats; ++k) {
      auto held = sweeps::held_blocks(target.placement, rates[a], 3, k);
      auto expected = evaluator.score(held, held);
      const auto& got = drop[a * repeats + k];
      EXPECT_DOUBLE_EQ(got.score.accuracy, expected.accuracy) << rates[a];
      EXPECT_NEAR(got.score.loss, expected.loss, 1e-5);
      EXPECT_DOUBLE_EQ(got.held_fraction, static_cast<double>(held.size()) / target.grid.count());
    }
  const std::vector<double> swap_rates{0.5, 0.8}, pairs{40, 0, 5, 20};
  auto swap = sweeps::swap_sweep(MPI_COMM_SELF, evaluator, target.placement, target.grid, swap_rates, pairs, repeats, 3);
  for (std::size_t a = 0; a < swap_rates.size(); ++a)
    for (std::size_t b = 0; b < pairs.size(); ++b)
      for (std::int64_t k = 0; k < repeats; ++k) {
        auto held = sweeps::held_blocks(target.placement, swap_rates[a], 3, k);
        auto position = sweeps::transposed_positions(held, target.grid, static_cast<std::int64_t>(pairs[b]),
                                                     sweeps::swap_sequence_seed(3, a, k));
        auto expected = evaluator.score(held, position);
        const auto& got = swap[(a * pairs.size() + b) * repeats + k];
        EXPECT_DOUBLE_EQ(got.score.accuracy, expected.accuracy) << swap_rates[a] << " " << pairs[b];
        EXPECT_NEAR(got.score.loss, expected.loss, 1e-5);
      }
}

// A swap sweep's group read back equals what was written, value for value; a
// results dataset of another shape than the grid's is refused, naming it.
TEST(SweepFile, SwapGroupReadsBackAsWritten) {
  sweeps::SweepRecord written;
  written.kind = "swap";
  written.arch = "vgg-mini";
  written.model_checkpoint = "runs/quickstart/vgg-mini.h5";
  written.layer = "classifier.0";
  written.knowledge = "layer";
  written.bh = 64, written.bw = 64, written.blocks = 1568, written.devices = 1574, written.repeats = 2;
  written.eval_images = 500, written.victim_accuracy = 0.8952, written.victim_loss = 0.31;
  written.rates = {0.8, 0.9, 0.95};
  written.pairs = {0, 10};
  for (int p = 0; p < 12; ++p) {
    written.accuracy.push_back(0.1 + p / 100.0);
    written.loss.push_back(2.0 - p / 10.0);
    written.fidelity.push_back(p / 12.0);
    written.held_fraction.push_back(1 - p / 24.0);
  }
  test::SharedTempFile tmp;
  {
    auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
    sweeps::write_sweep(file.root(), written);
  }
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  const auto read = sweeps::read_sweep(file.root(), "swap");
  EXPECT_EQ(read.shape(), (std::vector<hsize_t>{3, 2, 2}));
  EXPECT_EQ(read.arch, written.arch);
  EXPECT_EQ(read.model_checkpoint, written.model_checkpoint);
  EXPECT_EQ(read.layer, written.layer);
  EXPECT_EQ(read.knowledge, written.knowledge);
  EXPECT_EQ(read.devices, 1574);
  EXPECT_EQ(read.eval_images, 500);
  EXPECT_EQ(read.victim_accuracy, 0.8952);
  EXPECT_EQ(read.rates, written.rates);
  EXPECT_EQ(read.pairs, written.pairs);
  EXPECT_EQ(read.accuracy, written.accuracy);
  EXPECT_EQ(read.loss, written.loss);
  EXPECT_EQ(read.fidelity, written.fidelity);
  EXPECT_EQ(read.held_fraction, written.held_fraction);
  EXPECT_THROW(sweeps::read_sweep(file.root(), "drop"), Error);

  // Claimed 3 repeats where the results hold 2: the reader names the dataset.
  test::SharedTempFile bad;
  {
    auto out = h5::File::create(bad.path(), MPI_COMM_WORLD);
    auto lying = written;
    lying.kind = "drop";
    lying.pairs.clear();
    lying.repeats = 4;  // 3 rates x 4 = the 12 values written
    sweeps::write_sweep(out.root(), lying);
    out.root().group("drop").set_attr("repeats", std::int64_t{3});
  }
  auto damaged = h5::File::open(bad.path(), MPI_COMM_WORLD);
  try {
    sweeps::read_sweep(damaged.root(), "drop");
    ADD_FAILURE() << "a results dataset of the wrong shape was read";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("/drop/accuracy"));
  }
}
