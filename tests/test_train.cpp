// Training on the real Fashion-MNIST: MixNN's MLP learns in one epoch, the same
// seed gives the same weights, and data-parallel training over the ranks takes
// the steps a single process takes; the fine-tune's /finetune group reads back as written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "attack/stolen_blocks.hpp"
#include "attack/finetune_arms.hpp"
#include "attack/finetune_file.hpp"
#include "io/h5.hpp"
#include "test_util.hpp"
#include "train/finetune.hpp"
#include "train/trainer.hpp"

using namespace tessera;

namespace {

const data::Dataset& fashion_mnist() {
  static const data::Dataset data = data::load("fashion-mnist", "");
  return data;
}

data::Dataset first(std::int64_t train, std::int64_t test) {
  auto d = fashion_mnist();
  d.train = {d.train.images.narrow(0, 0, train), d.train.labels.narrow(0, 0, train)};
  d.test = {d.test.images.narrow(0, 0, test), d.test.labels.narrow(0, 0, test)};
  return d;
}

double max_difference(models::Network& a, models::Network& b) {
  double worst = 0;
  auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  return worst;
}

}  // namespace

TEST(Train, MixnnMlpReaches80PercentInOneEpoch) {
  train::Settings settings;
  settings.epochs = 1;
  auto net = models::build("mlp-mixnn", 1);
  auto records = train::fit(*net, fashion_mnist(), settings, MPI_COMM_WORLD);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_GE(records[0].test.accuracy, 0.75);  // measured 0.82-0.85 over 12 seeds; chance is 0.1
  EXPECT_LT(records[0].test.loss, 0.6);
  EXPECT_LT(records[0].train_loss, 0.8);
}

TEST(Train, SameSeedSameWeights) {
  train::Settings settings;
  settings.epochs = 2;
  settings.seed = 9;
  auto data = first(2048, 256);
  auto a = models::build("mlp-mixnn", 9), b = models::build("mlp-mixnn", 9);
  train::fit(*a, data, settings, MPI_COMM_SELF);
  train::fit(*b, data, settings, MPI_COMM_SELF);
  EXPECT_EQ(max_difference(*a, *b), 0.0);
  auto c = models::build("mlp-mixnn", 10);
  settings.seed = 10;
  train::fit(*c, data, settings, MPI_COMM_SELF);
  EXPECT_GT(max_difference(*a, *c), 1e-3);
}

// Under mpiexec: the world's data-parallel run against this process alone.
TEST(Train, DataParallelStepsEqualOneProcessSteps) {
  train::Settings settings;
  settings.epochs = 1;
  settings.batch = 100;  // not divisible by 3 ranks: uneven slices
  auto data = first(1000, 300);
  auto parallel = models::build("mlp-mixnn", 3), alone = models::build("mlp-mixnn", 3);
  auto p = train::fit(*parallel, data, settings, MPI_COMM_WORLD);
  auto a = train::fit(*alone, data, settings, MPI_COMM_SELF);
  EXPECT_LT(max_difference(*parallel, *alone), 1e-5);
  EXPECT_NEAR(p[0].train_loss, a[0].train_loss, 1e-5);
  EXPECT_NEAR(p[0].test.accuracy, a[0].test.accuracy, 1e-12);
  EXPECT_GT(a[0].test.accuracy, 0.3);  // it did learn (chance is 0.1)
}

TEST(Train, EpochOrderIsASeededPermutation) {
  auto a = data::epoch_order(1000, 1, 0), b = data::epoch_order(1000, 1, 0), c = data::epoch_order(1000, 1, 1);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  EXPECT_TRUE(torch::equal(std::get<0>(a.sort()), torch::arange(1000)));
}

// Fine-tune: frozen held blocks keep their stolen values exactly through training
// (momentum and weight decay included), tuned ones move; the rest of a "known"
// model never changes.
TEST(Finetune, FrozenHeldBlocksStayExactTunedOnesMove) {
  auto victim = models::build("mlp-mixnn", 5);
  attack::StolenBlocks stolen{"layers.0", blocks::Grid::make(128, 784, 16, 16, "layers.0"), {}, {}, "", ""};
  for (std::int64_t b = 0; b < stolen.grid.count(); b += 3) stolen.held.push_back(b);
  stolen.positions = stolen.held;
  train::Schedule schedule;
  schedule.train.epochs = 1;
  schedule.evals_per_epoch = 2;
  auto data = first(1024, 128);
  const auto answers = attack::predictions(*victim, data.test.images);
  const auto victim_weight = victim->named_parameters()["layers.0.weight"].detach().clone();
  for (const std::string held : {"frozen", "tuned"}) {
    auto arm = attack::make_arm("stolen", *victim, "mlp-mixnn", "layers.0", &stolen, {held, "known"}, 7,
                             data.test.images.narrow(0, 0, 1));
    ASSERT_EQ(arm.trained.size(), 1u);  // the rest is known: only the layer's weight trains
    auto points = train::run_arm(arm, data.train, data.test, answers, schedule, MPI_COMM_SELF);
    ASSERT_EQ(points.size(), 3u);
    EXPECT_EQ(points.back().samples, 1024);
    auto weight = arm.network->named_parameters()["layers.0.weight"];
    auto mask = attack::paste(torch::zeros_like(weight), torch::ones_like(weight), stolen).weight.to(torch::kBool);
    const double held_change = (weight - victim_weight).masked_select(mask).abs().max().item<double>();
    if (held == "frozen")
      EXPECT_EQ(held_change, 0.0);
    else
      EXPECT_GT(held_change, 1e-6);
    EXPECT_GT((weight - victim_weight).masked_select(~mask).abs().max().item<double>(), 1e-3);  // fresh elsewhere
    EXPECT_TRUE(torch::equal(arm.network->named_parameters()["layers.2.weight"],
                             victim->named_parameters()["layers.2.weight"]));
  }
}

// The flops count from the layer shapes: a convolution's weights act once per
// output pixel; the backward pass adds weight gradients for trained layers and input
// gradients after the first trained one.
TEST(Finetune, FlopsFollowTheLayerShapes) {
  auto net = models::build("vgg-mini", 1);
  auto macs = train::step_macs(*net, torch::zeros({1, 1, 28, 28}));
  // 32@28x28, 64@14x14, 128@7x7 from 3x3 kernels, then 6272-1024-1024-10
  const std::vector<double> expected{32.0 * 9 * 28 * 28, 64.0 * 32 * 9 * 14 * 14, 128.0 * 64 * 9 * 7 * 7,
                                     6272.0 * 1024, 1024.0 * 1024, 1024.0 * 10};
  EXPECT_EQ(macs, expected);
  EXPECT_EQ(train::training_flops_per_image({10, 20, 30}, {false, true, false}), 2 * 60 + 2 * 20 + 2 * 30);
  EXPECT_EQ(train::training_flops_per_image({10, 20, 30}, {true, true, true}), 2 * 60 + 2 * 60 + 2 * 50);
}

// /finetune read back equals what was written, and the cost table recomputed from
// the curve read back equals the stored one: a reader can price other levels.
TEST(FinetuneFile, RecordReadsBackAsWritten) {
  attack::FinetuneRecord written;
  written.arch = "mlp-mixnn";
  written.held_mode = "frozen";
  written.rest = "known";
  written.victim_test_accuracy = 0.85;
  written.lr = 0.05;
  written.test_images = 10000, written.public_images = 2048, written.epochs = 2, written.batch = 64;
  written.evals_per_epoch = 4;
  written.complete = false;
  written.stopped_by = "SIGTERM";
  written.levels = attack::kCostLevels;
  for (const char* arm : {"stolen", "model_scratch"}) {
    attack::FinetuneRun run;
    run.name = arm == std::string("stolen") ? "drop-0.5" : arm;
    run.arm = arm;
    run.flops_per_image = 1.5e6;
    run.trained_parameters = 1000;
    for (int i = 0; i < 9; ++i) {
      train::Point p;
      p.epoch = i / 4.0;
      p.samples = 512 * i;
      p.flops = 1.5e6 * 3 * p.samples;
      p.seconds = 0.1 * i;
      p.train_loss = 2.0 / (1 + i);
      p.test.accuracy = std::min(0.9, 0.1 * i + (run.name == "drop-0.5" ? 0.3 : 0.0));
      p.test.loss = 1.0 / (1 + i);
      p.test.agreement = p.test.accuracy;
      run.points.push_back(p);
    }
    for (double level : written.levels) {
      const auto c = train::cost_to_reach(run.points, level * written.victim_test_accuracy);
      run.cost.insert(run.cost.end(), {c.samples, c.flops, c.seconds});
    }
    if (run.arm == "stolen") {
      attack::FinetuneStolen stolen;
      stolen.source = "drop rate 0.5";
      stolen.layer = "layers.2";
      stolen.bh = 16, stolen.bw = 32, stolen.blocks = 64, stolen.held = 32;
      stolen.held_fraction = 0.5, stolen.position_recovery = 1;
      stolen.steal_to_train = {0.5, 0.5, 0.5, 0.25, 0.25, 0.25, NAN, NAN, NAN};
      attack::FinetuneSearch search{"ga", 12.5, 0.7, 0.5, 40, 100, 500, attack::FinetuneSearch::Formula{true, false, 7, 9}};
      stolen.search = search;
      run.stolen = stolen;
    }
    written.runs.push_back(run);
  }
  test::SharedTempFile tmp;
  {
    auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
    attack::write_finetune(file.root(), written);
  }
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  const auto read = attack::read_finetune(file.root());
  EXPECT_EQ(read.arch, written.arch);
  EXPECT_EQ(read.rest, "known");
  EXPECT_FALSE(read.complete);
  EXPECT_EQ(read.stopped_by, "SIGTERM");
  EXPECT_EQ(read.levels, written.levels);
  ASSERT_EQ(read.runs.size(), 2u);
  for (const auto& run : read.runs) {  // by name: drop-0.5, model_scratch
    const auto& original = run.name == "drop-0.5" ? written.runs[0] : written.runs[1];
    EXPECT_EQ(run.arm, original.arm);
    ASSERT_EQ(run.points.size(), original.points.size());
    for (std::size_t i = 0; i < run.points.size(); ++i) {
      EXPECT_EQ(run.points[i].samples, original.points[i].samples);
      EXPECT_EQ(run.points[i].test.accuracy, original.points[i].test.accuracy);
      EXPECT_EQ(run.points[i].test.agreement, original.points[i].test.agreement);
      EXPECT_EQ(run.points[i].flops, original.points[i].flops);
    }
    for (std::size_t l = 0; l < read.levels.size(); ++l) {
      const auto c = train::cost_to_reach(run.points, read.levels[l] * read.victim_test_accuracy);
      // NaN (never reached) equals NaN here.
      auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
      EXPECT_TRUE(same(c.samples, run.cost[3 * l])) << run.name << " level " << read.levels[l];
      EXPECT_TRUE(same(c.seconds, run.cost[3 * l + 2])) << run.name << " level " << read.levels[l];
    }
    EXPECT_EQ(run.stolen.has_value(), original.stolen.has_value());
  }
  const auto& stolen = *read.runs[0].stolen;
  EXPECT_EQ(stolen.blocks, 64);
  EXPECT_EQ(stolen.steal_to_train[3], 0.25);
  EXPECT_TRUE(std::isnan(stolen.steal_to_train[8]));
  EXPECT_TRUE(stolen.steal_to_layer.empty());
  ASSERT_TRUE(stolen.search && stolen.search->formula);
  EXPECT_EQ(stolen.search->method, "ga");
  EXPECT_EQ(stolen.search->formula->smallest_infeasible, 9);
  EXPECT_FALSE(stolen.search->formula->feasible);
}
