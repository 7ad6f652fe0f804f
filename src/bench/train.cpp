// tessera bench train: images/s of tessera's training loop against a bare
// LibTorch loop (pytorch/examples style) over the same model, data and batches,
// and of the fine-tune loop (half the largest Linear's blocks held and put back after
// every step, every other parameter trained: its most expensive setting), measured
// in turn in the same run; prints the medians and their ratios.
#include <algorithm>
#include <chrono>
#include <functional>

#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "attack/finetune_arms.hpp"
#include "cli/options.hpp"
#include "comm/device.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "train/trainer.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace train_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  add_training_options(options);
  options.add_options()
    ("bench.steps", po::value<int>()->default_value(40), "training steps per timed repeat")
    ("bench.device", po::value<std::string>()->default_value("cpu"),
     "where the loops run: cpu, or cuda (a CUDA build; compare with a cpu run on the same machine)");
  add_repeats_option(options);
}

// The reference: the loop of pytorch/examples cpp/mnist, nothing else.
void bare_loop(models::Network& network, torch::optim::SGD& optimizer, const data::Split& split,
               const torch::Tensor& order, std::int64_t batch) {
  network.train();
  for (std::int64_t begin = 0; begin < order.size(0); begin += batch) {
    auto index = order.narrow(0, begin, std::min(batch, order.size(0) - begin));
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(network.forward(split.images.index_select(0, index)),
                                                     split.labels.index_select(0, index));
    loss.backward();
    optimizer.step();
  }
}

int run(const Config& config, MPI_Comm world) {
  const int ranks = size_of(world);
  const int steps = config.get<int>("bench.steps");
  const auto arch = config.get<std::string>("model.arch");
  train::Settings settings;
  settings.batch = config.get<int>("train.batch");
  settings.lr = config.get<double>("train.lr");
  const int repeats = agree(world, [&] {
    TESSERA_REQUIRE(ranks == 1, "bench train compares loops on one process; run it without mpiexec -n ", ranks);
    TESSERA_REQUIRE(steps >= 1, "--bench.steps: must be >= 1");
    TESSERA_REQUIRE(settings.batch >= 1, "--train.batch: must be >= 1");
    models::architecture(arch);
    return repeats_of(config);
  });
  const auto device =
      agree(world, [&] { return comm::require_device("--bench.device", config.get<std::string>("bench.device")); });
  auto report = report_for(config, world);
  const auto images = steps * settings.batch;
  const auto data = agree(world, [&] {
    return data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), images, 1);
  });
  const data::Split train{data.train.images.to(device), data.train.labels.to(device)};
  const auto order = data::epoch_order(train.size(), config.get<std::uint64_t>("run.seed"), 0).to(device);

  auto ours = models::build(arch, 1), bare = models::build(arch, 1);
  ours->to(device);
  bare->to(device);
  auto ours_optimizer = train::make_optimizer(*ours, settings);
  auto bare_optimizer = train::make_optimizer(*bare, settings);
  auto run_ours = [&] { train::run_epoch(*ours, ours_optimizer, train, order, settings.batch, world); };
  auto run_bare = [&] { bare_loop(*bare, bare_optimizer, train, order, settings.batch); };

  // The fine-tune: a victim of another initialisation, every other block of its
  // largest Linear held at its true position and frozen, the rest fresh.
  auto victim = models::build(arch, 2);
  const auto layer = models::largest_linear(*victim);
  const auto weight = blocks::as_matrix(victim->named_parameters()[layer + ".weight"]);
  attack::StolenBlocks stolen{layer, blocks::Grid::make(weight.size(0), weight.size(1), 64, 64, layer), {}, {}, "", ""};
  for (std::int64_t b = 0; b < stolen.grid.count(); b += 2) stolen.held.push_back(b);
  stolen.positions = stolen.held;
  auto arm = attack::make_arm("bench", *victim, arch, layer, &stolen, {"frozen", "fresh"}, 1,
                      data.train.images.narrow(0, 0, 1));
  arm.network->to(device);
  auto tune_optimizer = train::make_optimizer(arm.trained, settings);
  const std::int64_t all_steps = (order.size(0) + settings.batch - 1) / settings.batch;
  auto run_tune = [&] {
    train::run_steps(*arm.network, tune_optimizer, train, order, settings.batch, 0, all_steps, world,
                     arm.after_step);
  };
  log::info("bench train: ", arch, " on ", device.str(), ", ", steps, " steps of batch ", settings.batch, ", ", repeats,
            " repeats, ", torch::get_num_threads(), " threads");
  // The warm-up fills the allocator and starts the BLAS threads.
  auto timed = [&device](const std::function<void()>& loop) {
    return [&device, loop](int) {
      return seconds_of([&] {
        loop();
        comm::finish_device_work(device);
      });
    };
  };
  log::Progress progress("bench train", repeats + 1, 5.0);
  const auto t = time_cases({{"ours", timed(run_ours)}, {"bare", timed(run_bare)}, {"tune", timed(run_tune)}}, repeats,
                            Warmup::yes, &progress);
  const double ours_median = images / t.median(0), bare_median = images / t.median(1),
               tune_median = images / t.median(2);
  auto& loops = report.table("loops", {{"loop", "loop", Column::kText, 22}, {"images_per_second", "images/s", 1}});
  loops.add({"tessera train loop", ours_median});
  loops.add({"bare LibTorch loop", bare_median});
  loops.add({"tessera fine-tune loop", tune_median});
  auto& ratios = report.table("ratios", {{"ratio", "ratio", Column::kText, 25}, {"value", "value"}});
  ratios.add({"tessera / bare", t.median_ratio(1, 0)});
  ratios.add({"fine-tune / tessera train", t.median_ratio(0, 2)});
  report.note("images/s: over the median seconds of " + std::to_string(repeats) + " repeats, the loops' order rotated "
              "each repeat; ratios of images/s: medians of those within a repeat");
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace train_case

const cli::Command train_command{"bench train",
                                  "training images/s: tessera's loop against a bare LibTorch loop",
                                  train_case::add_options, train_case::run};

}  // namespace tessera::bench
