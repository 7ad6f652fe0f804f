// tessera finetune: what stolen blocks are worth. The adversary starts from the
// blocks it holds (at their true positions for each --finetune.drop_rates, or where
// a search put them, --finetune.from) and trains what it lacks on its public
// images; the same schedule from scratch (the layer alone, the whole model) prices
// the blocks as samples, flops and seconds saved (docs/DESIGN.md section 10).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "attack/stolen_blocks.hpp"
#include "blocks/targets.hpp"
#include "cli/commands.hpp"
#include "attack/finetune_arms.hpp"
#include "cli/options.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "search/methods.hpp"
#include "sweeps/adversary.hpp"
#include "sweeps/sweep.hpp"

namespace tessera::cli {

namespace cmd_finetune {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "finetune");
  add_training_options(options);
  add_adversary_options(options);
  add_block_options(options);
  add_run_name_option(options);
  options.add_options()
    ("finetune.from", po::value<std::string>()->default_value(""),
     "FILE[:RUN],...: start from where searches put the held blocks (the last best genome of /attack/RUN of a "
     "'tessera attack' file; RUN may be left out when the file has one run, and may name a chain's run as is, "
     "a.h5:stats,assignment,sa,b.h5), one run each. Their layer and grid "
     "replace --blocks.*; --finetune.drop_rates is then not used")
    ("finetune.drop_rates", po::value<std::string>()->default_value("0.5"),
     "without --finetune.from: the adversary holds the blocks the drop sweep's adversary holds at each of these "
     "drop rates (values and first:last:step ranges), at their true positions; one run per rate")
    ("finetune.held_set", po::value<std::int64_t>()->default_value(0),
     "which compromised set: the sweeps' held set of the same index (0 .. their --attack.repeats - 1)")
    ("finetune.held", po::value<std::string>()->default_value("frozen"),
     "frozen: the held values stay as stolen; tuned: they are trained like the rest")
    ("finetune.rest", po::value<std::string>()->default_value("known"),
     "known: every other parameter is the victim's and stays fixed (the seed's threat), only the layer's weight "
     "is trained; fresh: the adversary has nothing but its blocks and trains every other parameter too")
    ("finetune.evals", po::value<int>()->default_value(4), "test evaluations per epoch (and one before training)");
}

struct Settings {
  train::Schedule schedule;
  attack::ArmModes modes;
  std::int64_t public_images = 0;
  std::vector<double> drop_rates;
  std::int64_t held_set = 0;
  std::vector<std::pair<std::string, std::string>> from;  // (file, attack run or "")
};

// FILE[:RUN],... where a RUN named after a chain holds commas itself: an item that
// is a search method's name continues the run before it.
std::vector<std::pair<std::string, std::string>> attack_runs_of(const std::string& text) {
  const auto& methods = search::search_methods();
  auto is_method = [&](const std::string& item) {
    return std::any_of(methods.begin(), methods.end(), [&](const auto& m) { return m.name == item; });
  };
  std::vector<std::pair<std::string, std::string>> runs;  // (file, attack run or "")
  for (const auto& item : split_list(text, "--finetune.from")) {
    if (!runs.empty() && !runs.back().second.empty() && is_method(item)) {
      runs.back().second += "," + item;
      continue;
    }
    const auto colon = item.rfind(':');
    if (colon == std::string::npos) runs.emplace_back(item, "");
    else runs.emplace_back(item.substr(0, colon), item.substr(colon + 1));
  }
  return runs;
}

Settings settings_from(const Config& config) {
  Settings s;
  s.schedule.train = train::training_settings(config);
  s.schedule.evals_per_epoch = config.get<int>("finetune.evals");
  TESSERA_REQUIRE(s.schedule.evals_per_epoch >= 1, "--finetune.evals: must be >= 1, got ", s.schedule.evals_per_epoch);
  s.modes.held = config.get<std::string>("finetune.held");
  s.modes.rest = config.get<std::string>("finetune.rest");
  TESSERA_REQUIRE(s.modes.held == "frozen" || s.modes.held == "tuned", "--finetune.held: frozen or tuned, got '",
                  s.modes.held, "'");
  TESSERA_REQUIRE(s.modes.rest == "known" || s.modes.rest == "fresh", "--finetune.rest: known or fresh, got '",
                  s.modes.rest, "'");
  s.public_images = config.get<std::int64_t>("adversary.public");
  TESSERA_REQUIRE(s.public_images >= 1, "--adversary.public: the adversary needs at least 1 public image, got ",
                  s.public_images);
  s.held_set = config.get<std::int64_t>("finetune.held_set");
  TESSERA_REQUIRE(s.held_set >= 0, "--finetune.held_set: must be >= 0, got ", s.held_set);
  s.from = attack_runs_of(config.get<std::string>("finetune.from"));
  if (s.from.empty()) {
    s.drop_rates = sweeps::parse_grid(config.get<std::string>("finetune.drop_rates"), "--finetune.drop_rates");
    for (double r : s.drop_rates)
      TESSERA_REQUIRE(r < 1, "--finetune.drop_rates: at drop rate ", r, " the adversary holds nothing to start from");
  }
  return s;
}

// What the adversary starts from in each run: the drop sweep's held sets at their
// true positions, or one search's placement.
std::vector<attack::StolenBlocks> stolen_sets(const Settings& s, const Config& config, models::Network& victim,
                                              const std::string& arch, MPI_Comm world) {
  if (!s.from.empty()) {
    std::vector<attack::StolenBlocks> sets;
    for (const auto& [path, run] : s.from) {
      sets.push_back(attack::read_attack_run(path, run, victim, arch, "--finetune.from", world));
      agree(world, [&] {
        const auto& first = sets.front();
        const auto& last = sets.back();
        TESSERA_REQUIRE(last.layer == first.layer, "--finetune.from: ", last.source, " attacked ", last.layer, ", ",
                        first.source, " ", first.layer, "; one layer per fine-tune");
        for (std::size_t i = 0; i + 1 < sets.size(); ++i)
          TESSERA_REQUIRE(sets[i].name != last.name, "--finetune.from: ", last.source, " is named twice");
      });
    }
    return sets;
  }
  return agree(world, [&] {
    auto targets = blocks::plan(victim, block_settings(config), 1);
    TESSERA_REQUIRE(targets.size() == 1, "--blocks.layers: fine-tune takes one layer, got ", targets.size());
    const auto& target = targets.front();
    std::vector<attack::StolenBlocks> sets;
    for (double rate : s.drop_rates) {
      attack::StolenBlocks stolen{target.layer, target.grid, {}, {}, "", ""};
      stolen.held = sweeps::held_blocks(target.placement, rate, config.get<std::uint64_t>("run.seed"), s.held_set);
      TESSERA_REQUIRE(!stolen.held.empty(), "--finetune.drop_rates: at drop rate ", rate, " the adversary holds no block of ",
                      target.layer);
      stolen.positions = stolen.held;
      char name[64];
      std::snprintf(name, sizeof name, "drop-%g", rate);
      stolen.name = name;
      std::snprintf(name, sizeof name, "drop rate %g, true positions", rate);
      stolen.source = name;
      sets.push_back(std::move(stolen));
    }
    return sets;
  });
}

// The victim's epochs, from the /train record of its model file (0 when it has none).
std::int64_t victim_epochs(const std::string& path, MPI_Comm world) {
  return agree(world, [&] {
    auto file = h5::File::open(path, world);
    const auto root = file.root();
    return root.exists("train/train_loss") ? static_cast<std::int64_t>(root.dataset("train/train_loss").shape().at(0))
                                           : std::int64_t{0};
  });
}

// Every arm in turn: one per stolen set, then the layer and the model from scratch.
// A signal ends the arm in progress at its next point (or, between arms, the run)
// and skips the arms after it; `signal` says which.
std::vector<attack::ArmResult> run_arms(const Settings& s, const std::vector<attack::StolenBlocks>& stolen,
                                        models::Network& victim, const std::string& arch, const data::Dataset& data,
                                        const torch::Tensor& answers, MPI_Comm world, int& signal) {
  const auto init_seed = derive_seed(s.schedule.train.seed, "finetune-init");
  const auto sample = data.test.images.narrow(0, 0, 1);
  const auto& layer = stolen.front().layer;
  std::vector<attack::ArmResult> results;
  attack::ArmModes fresh = s.modes;
  fresh.rest = "fresh";
  const std::vector<std::pair<const char*, attack::ArmModes>> scratch = {{"layer_scratch", s.modes}, {"model_scratch", fresh}};
  const std::size_t arms = stolen.size() + scratch.size();
  auto run = [&](train::Arm& arm) {
    auto points = train::run_arm(arm, data.train, data.test, answers, s.schedule, world, &signal);
    if (!signal && results.size() + 1 < arms) signal = stop::agreed(world);
    return points;
  };
  for (const auto& set : stolen) {
    if (signal) break;
    auto arm = attack::make_arm("stolen", victim, arch, layer, &set, s.modes, init_seed, sample);
    log::info("finetune: ", set.name, ": ", set.held.size(), " of ", set.grid.count(), " blocks held (",
              set.grid.bh, "x", set.grid.bw, "), share at their true position ", set.recovery(), " (", set.source, ")");
    auto points = run(arm);
    results.push_back({set.name, arm, std::move(points), &set});
  }
  for (const auto& [name, modes] : scratch) {
    if (signal) break;
    auto arm = attack::make_arm(name, victim, arch, layer, nullptr, modes, init_seed, sample);
    auto points = run(arm);
    results.push_back({name, arm, std::move(points), nullptr});
  }
  return results;
}

int run(const Config& config, MPI_Comm world) {
  stop::install_handlers();  // a signal ends the run at the next evaluation point, with what was done written
  const auto checkpoint = config.get<std::string>("model.checkpoint");
  const auto s = agree(world, [&] {
    TESSERA_REQUIRE(!checkpoint.empty(), "--model.checkpoint: the victim's model file is needed");
    return settings_from(config);
  });
  auto victim = models::load(checkpoint, world, config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  const auto& arch = victim.info.arch;
  const auto stolen = stolen_sets(s, config, *victim.network, arch, world);
  auto data = load_data_for(config, arch, world);
  const attack::VictimTraining training{data.train.size(), victim_epochs(checkpoint, world)};
  data.train = public_split(data, config, world);
  const auto path = output_path(config, world, "finetune-" + arch);

  // The victim's answers serve every fidelity; its accuracy follows from them (one
  // pass over the test split, not two).
  const auto answers = attack::predictions(*victim.network, data.test.images);
  const double victim_accuracy = answers.eq(data.test.labels).to(torch::kDouble).mean().item<double>();
  const auto& layer = stolen.front().layer;
  log::info("finetune: victim ", arch, " (test accuracy ", victim_accuracy, " on ", data.test.size(),
            " images), layer ", layer, "; ", s.public_images, " public images, ", s.schedule.train.epochs,
            " epochs; held blocks ", s.modes.held, ", the rest ", s.modes.rest);

  int signal = 0;
  const auto results = run_arms(s, stolen, *victim.network, arch, data, answers, world, signal);
  const std::size_t arms = stolen.size() + 2;
  if (results.empty()) throw stop::Stopped(stop::signal_name(signal) + " received before the first arm: nothing written");
  io::OutputFile file(path, world, {"finetune", config.ini_text(), s.schedule.train.seed});
  auto record = attack::finetune_record(results, victim_accuracy, s.schedule, s.modes, s.public_images, arch,
                                        data.test.size(), training);
  record.complete = signal == 0;
  record.stopped_by = signal ? stop::signal_name(signal) : std::string();
  attack::write_finetune(file.root(), record);
  file.commit();
  attack::print_cost_table(results, victim_accuracy);
  if (signal)
    throw stop::Stopped(stop::signal_name(signal) + " received: the arms done so far (" +
                        std::to_string(results.size()) + " of " + std::to_string(arms) + ") written to '" + path +
                        "' with complete = 0");
  log::info("finetune: wrote '", path, "'");
  return 0;
}

}  // namespace
}  // namespace cmd_finetune

const Command finetune_command{"finetune",
                               "fine-tune from stolen blocks against training from scratch: the cost to steal a model",
                               cmd_finetune::add_options, cmd_finetune::run};

}  // namespace tessera::cli
