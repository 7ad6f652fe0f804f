// tessera drop and tessera swap: the adversary's reconstruction accuracy over a
// grid of drop rates (P1: held blocks at their true positions) and of drop rates x
// swapped pairs (S1: positions after random transpositions), repeats included.
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/rng.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "sweeps/adversary.hpp"
#include "sweeps/sweep.hpp"
#include "sweeps/sweep_file.hpp"

namespace tessera::cli {

namespace cmd_sweeps {
namespace {

void add_shared_options(po::options_description& options, const std::string& command) {
  add_common_options(options, command);
  add_block_options(options);
  add_run_name_option(options);
  options.add_options()
    ("attack.eval_images", po::value<std::int64_t>()->default_value(0),
     "the first N images of the test set the adversary evaluates on (0 = the whole test set)")
    ("attack.repeats", po::value<std::int64_t>()->default_value(3),
     "repeats of every point, each with other compromised devices (held sets 0 .. repeats-1)");
  add_continuation_options(options, "the finished points", "after every round of points");
}

// Memory per grid point: its four numbers, in the results, the reduction buffer and
// the checkpoint's copy.
constexpr double kBytesPerPoint = 4 * sizeof(double) * 3;

// What may change between a run and its continuation (run.out: a checkpoint may move with its folder).
const std::vector<std::string> kContinuationOptions = {"run.resume", "run.checkpoint_seconds", "run.out"};

void add_drop_options(po::options_description& options) {
  add_shared_options(options, "drop");
  options.add_options()("drop.rates", po::value<std::string>()->default_value("0.5:0.9:0.1,0.92:1:0.02"),
                        "drop rates: values and first:last:step ranges, comma-separated");
}

void add_swap_options(po::options_description& options) {
  add_shared_options(options, "swap");
  options.add_options()
    ("swap.rates", po::value<std::string>()->default_value("0.85:0.99:0.02"), "drop rates (values and ranges)")
    ("swap.pairs", po::value<std::string>()->default_value("0:100:25"),
     "swapped pairs: random transpositions among the held blocks (values and ranges)");
}

// What both sweeps share: the victim, its target layer cut into blocks, and the
// evaluator holding the target layer's input features.
struct Setup {
  models::LoadedModel model;
  blocks::Target target;
  std::unique_ptr<sweeps::Evaluator> evaluator;
  std::string path;
  sweeps::Checkpointing checkpointing;
  std::int64_t repeats = 0;
};

Setup prepare(const Config& config, MPI_Comm world, const std::string& command) {
  Setup setup;
  stop::install_handlers();  // a signal from the batch system ends the sweep cleanly between points
  setup.model = models::load(config.get<std::string>("model.checkpoint"), world,
                             config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  setup.target = agree(world, [&] {
    auto targets = blocks::plan(*setup.model.network, block_settings(config), 1);
    TESSERA_REQUIRE(targets.size() == 1, "--blocks.layers: ", command, " attacks one layer, got ", targets.size());
    return targets.front();
  });
  const auto eval_images = config.get<std::int64_t>("attack.eval_images");
  setup.repeats = config.get<std::int64_t>("attack.repeats");
  const auto data = agree(world, [&] {
    TESSERA_REQUIRE(eval_images >= 0, "--attack.eval_images: must be >= 0, got ", eval_images);
    TESSERA_REQUIRE(setup.repeats >= 1, "--attack.repeats: must be >= 1, got ", setup.repeats);
    auto d = data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), 1, 0);
    TESSERA_REQUIRE(eval_images <= d.test.size(), "--attack.eval_images: ", eval_images,
                    " images asked, the test set has ", d.test.size());
    return d;
  });
  const auto eval = eval_images ? data::Split{data.test.images.narrow(0, 0, eval_images),
                                               data.test.labels.narrow(0, 0, eval_images)}
                                 : data.test;
  setup.evaluator = std::make_unique<sweeps::Evaluator>(*setup.model.network, setup.target.layer,
                                                        setup.target.grid, eval);
  setup.path = output_path(config, world, command + "-" + setup.model.info.arch);
  setup.checkpointing.path = io::checkpoint_path(setup.path);
  setup.checkpointing.fingerprint = config.fingerprint(kContinuationOptions);
  setup.checkpointing.resume = config.get<bool>("run.resume");
  setup.checkpointing.every_seconds = config.get<double>("run.checkpoint_seconds");
  agree(world, [&] {
    TESSERA_REQUIRE(setup.checkpointing.every_seconds >= 0, "--run.checkpoint_seconds: must be >= 0, got ",
                    setup.checkpointing.every_seconds);
  });
  sweeps::load_checkpoint(setup.checkpointing, command, world);
  return setup;
}

void announce(const Setup& setup, const std::string& command) {
  const auto& g = setup.target.grid;
  log::info(command, ": ", setup.model.info.arch, " ", setup.target.layer, " ", g.out, "x", g.in, " in ", g.bh, "x",
            g.bw, " blocks (", g.count(), " on ", setup.target.placement.devices(), " devices), ",
            setup.evaluator->images(), " eval images, victim accuracy ", setup.evaluator->victim().accuracy);
}

// What both sweeps record of their set-up; the caller adds the grid and the results.
sweeps::SweepRecord record_of(const Setup& setup, const Config& config, const std::string& kind) {
  const auto& g = setup.target.grid;
  sweeps::SweepRecord r;
  r.kind = kind;
  r.arch = setup.model.info.arch;
  r.model_checkpoint = config.get<std::string>("model.checkpoint");
  r.layer = setup.target.layer;
  r.knowledge = kind == "drop" ? "positions" : "layer";
  r.bh = g.bh;
  r.bw = g.bw;
  r.blocks = g.count();
  r.devices = setup.target.placement.devices();
  r.repeats = setup.repeats;
  r.eval_images = setup.evaluator->images();
  r.victim_accuracy = setup.evaluator->victim().accuracy;
  r.victim_loss = setup.evaluator->victim().loss;
  return r;
}

void add_results(sweeps::SweepRecord& record, const std::vector<sweeps::PointResult>& results) {
  for (const auto& r : results) {
    record.accuracy.push_back(r.score.accuracy);
    record.loss.push_back(r.score.loss);
    record.fidelity.push_back(r.score.fidelity);
    record.held_fraction.push_back(r.held_fraction);
  }
}

// Commits the output file; its checkpoint is then superseded.
void finish(io::OutputFile& file, const Setup& setup, MPI_Comm world) {
  file.commit();
  std::error_code ignored;
  if (rank_of(world) == 0) std::filesystem::remove(setup.checkpointing.path, ignored);
  log::info("wrote '", setup.path, "'");
}

int run_drop(const Config& config, MPI_Comm world) {
  const auto rates = agree(world, [&] { return sweeps::parse_grid(config.get<std::string>("drop.rates"), "--drop.rates"); });
  agree(world, [&] {
    for (auto r : rates) TESSERA_REQUIRE(r >= 0 && r <= 1, "--drop.rates: ", r, " is outside [0, 1]");
  });
  agree(world, [&] {
    require_memory(kBytesPerPoint * static_cast<double>(rates.size()) * config.get<std::int64_t>("attack.repeats"),
                   "--drop.rates x --attack.repeats: " + std::to_string(rates.size()) + " rates x " +
                       std::to_string(config.get<std::int64_t>("attack.repeats")) + " repeats");
  });
  const auto setup = prepare(config, world, "drop");
  announce(setup, "drop");
  const auto seed = config.get<std::uint64_t>("run.seed");
  const auto results =
      sweeps::drop_sweep(world, *setup.evaluator, setup.target.placement, rates, setup.repeats, seed,
                         setup.checkpointing);

  auto record = record_of(setup, config, "drop");
  record.rates = rates;
  add_results(record, results);
  io::OutputFile file(setup.path, world, {"drop", config.ini_text(), seed});
  sweeps::write_sweep(file.root(), record);
  blocks::write_targets({setup.target}, file.root());
  finish(file, setup, world);
  return 0;
}

int run_swap(const Config& config, MPI_Comm world) {
  const auto [rates, pairs] = agree(world, [&] {
    auto r = sweeps::parse_grid(config.get<std::string>("swap.rates"), "--swap.rates");
    auto p = sweeps::parse_grid(config.get<std::string>("swap.pairs"), "--swap.pairs");
    for (auto x : r) TESSERA_REQUIRE(x >= 0 && x <= 1, "--swap.rates: ", x, " is outside [0, 1]");
    for (auto x : p) TESSERA_REQUIRE(x >= 0 && x == std::floor(x), "--swap.pairs: ", x, " is not a whole number >= 0");
    return std::make_pair(r, p);
  });
  agree(world, [&] {
    require_memory(kBytesPerPoint * static_cast<double>(rates.size()) * static_cast<double>(pairs.size()) *
                       config.get<std::int64_t>("attack.repeats"),
                   "--swap.rates x --swap.pairs x --attack.repeats: " + std::to_string(rates.size()) + " x " +
                       std::to_string(pairs.size()) + " x " + std::to_string(config.get<std::int64_t>("attack.repeats")) +
                       " points");
  });
  const auto setup = prepare(config, world, "swap");
  const auto seed = config.get<std::uint64_t>("run.seed");
  const std::int64_t m = rates.size(), repeats = setup.repeats;
  // A grid point that asks more swaps than the held blocks allow fails the whole run, before any work.
  agree(world, [&] {
    for (std::int64_t a = 0; a < m; ++a)
      for (std::int64_t rep = 0; rep < repeats; ++rep)
        TESSERA_REQUIRE(*std::max_element(pairs.begin(), pairs.end()) == 0 ||
                            sweeps::held_blocks(setup.target.placement, rates[a], seed, rep).size() >= 2,
                        "--swap.pairs: drop rate ", rates[a], " leaves fewer than 2 held blocks, nothing can be swapped");
  });
  announce(setup, "swap");
  const auto results = sweeps::swap_sweep(world, *setup.evaluator, setup.target.placement, setup.target.grid, rates,
                                          pairs, repeats, seed, setup.checkpointing);

  auto record = record_of(setup, config, "swap");
  record.rates = rates;
  record.pairs = pairs;
  add_results(record, results);
  io::OutputFile file(setup.path, world, {"swap", config.ini_text(), seed});
  sweeps::write_sweep(file.root(), record);
  blocks::write_targets({setup.target}, file.root());
  finish(file, setup, world);
  return 0;
}

}  // namespace
}  // namespace cmd_sweeps

const Command drop_command{"drop", "accuracy of the adversary's model over drop rates (P1: true positions)",
                           cmd_sweeps::add_drop_options, cmd_sweeps::run_drop};
const Command swap_command{"swap", "accuracy over drop rates x swapped pairs (S1: layer known, positions not)",
                           cmd_sweeps::add_swap_options, cmd_sweeps::run_swap};

}  // namespace tessera::cli
