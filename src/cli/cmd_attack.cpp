// tessera attack: the adversary's search for the positions of the blocks it holds
// (the seed's P2, section IV), on its own rank group. This file holds the options;
// the pipeline is attack/pipeline.hpp's.
#include <cmath>

#include "attack/pipeline.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/stop.hpp"

namespace tessera::cli {

namespace cmd_attack {
namespace {

std::string method_help() {
  std::string text = "the search:";
  for (const auto& m : search::search_methods()) text += " " + m.name + " (" + m.summary + ");";
  text.back() = '.';
  return text + " A chain such as stats,assignment,sa runs the methods in turn, each from the best placement "
                "the one before came to rest on (methods that start from data alone come first; ga and sa, "
                "which never come to rest, last).";
}

void add_attack_options(po::options_description& options) {
  add_common_options(options, "attack");
  add_block_options(options);
  add_training_options(options);  // the recipe of the adversary's own training (surrogate)
  add_adversary_options(options);
  add_run_name_option(options);
  options.add_options()
    ("attack.ranks", po::value<int>()->default_value(1), "ranks of the attack group (the first ones); the rest serve")
    ("attack.method", po::value<std::string>()->default_value("ga"), method_help().c_str())
    ("attack.knowledge", po::value<std::string>()->default_value("layer"),
     "what the adversary knows of its blocks: layer (which cut layer each belongs to; one cut layer) or none "
     "(the paper's S2: the blocks of two or more cut layers, --blocks.layers=a,b, arrive pooled; it sorts "
     "them into layers by their weights, then searches each layer's positions in turn)")
    ("attack.layers_from", po::value<std::string>()->default_value(""),
     "knowledge none: take the blocks' layers from the eavesdropper's groups instead of their weights: a "
     "'tessera streams analyze' file (FILE or FILE:RUN) of a trace served with the same --blocks options; the "
     "groups holding most of the adversary's blocks, in the order of the flow, are the cut layers")
    ("attack.layer_rounds", po::value<std::int64_t>()->default_value(2),
     "knowledge none: rounds over the cut layers; each search sees the other layers as the last round placed "
     "them (the first round: at random positions). Each search gets an even share of the time budget left")
    ("attack.fitness", po::value<std::string>()->default_value("loss"),
     "accuracy (the seed's; discrete, so it stalls), loss (minus the cross-entropy) or fidelity")
    ("attack.eval_images", po::value<std::int64_t>()->default_value(100),
     "the first N images of the test set the adversary scores its candidates on (0 = the whole test set)")
    ("attack.drop_rate", real_value(0.9), "fraction of blocks the adversary does not hold")
    ("attack.held_set", po::value<std::int64_t>()->default_value(0),
     "which compromised set: the sweeps' held set of the same index (0 .. their --attack.repeats - 1)")
    ("attack.generations", po::value<std::int64_t>()->default_value(100), "generations to run (SA: steps of sa.moves)")
    ("attack.time_budget", real_value(0), "stop after this many seconds (0 = no limit)")
    ("attack.target_fitness", real_value(INFINITY), "stop when the best fitness reaches it")
    ("attack.cache_mb", po::value<std::int64_t>()->default_value(2048),
     "memory for the tile cache per attack rank; above it tiles are computed per call (on a GPU: its tiles "
     "must fit)")
    ("attack.device", po::value<std::string>()->default_value("cpu"),
     "where the attack ranks score whole populations and gradients: cpu, or cuda (a CUDA build; the swap "
     "moves of annealing stay on the CPU; scores equal the CPU's up to float rounding)")
    ("attack.snapshot_every", po::value<std::int64_t>()->default_value(0),
     "full-population snapshot every k generations (0 = none)")
    ("attack.history", flag_value(true),
     "record every generation's population fitness and diversity (false: summaries only)")
    ("attack.run", po::value<std::string>()->default_value(""),
     "name of the /attack/<run> group (empty = the method); the output file collects runs: a new name is "
     "added beside the runs already in it")
    ("attack.replace", flag_value(false),
     "replace a run of the same name in the output file (the file's other runs are kept; without it such a run "
     "is refused before the search)");
  add_continuation_options(options, "the search", "after every generation");
  for (const auto& method : search::search_methods()) method.add_options(options);
}

// What may change between a run and its continuation (run.out: a checkpoint may move with its folder).
const std::vector<std::string> kContinuationOptions = {"run.resume", "run.checkpoint_seconds", "attack.time_budget",
                                                       "attack.replace", "run.out"};

// The attack.* options (and run.seed, adversary.public), read once.
attack::Settings attack_settings(const Config& config) {
  attack::Settings s;
  s.ranks = config.get<int>("attack.ranks");
  s.seed = config.get<std::uint64_t>("run.seed");
  s.method = config.get<std::string>("attack.method");
  s.knowledge = config.get<std::string>("attack.knowledge");
  s.fitness = config.get<std::string>("attack.fitness");
  s.device = config.get<std::string>("attack.device");
  s.run = config.get<std::string>("attack.run");
  s.layers_from = config.get<std::string>("attack.layers_from");
  s.eval_images = config.get<std::int64_t>("attack.eval_images");
  s.public_images = config.get<std::int64_t>("adversary.public");
  s.held_set = config.get<std::int64_t>("attack.held_set");
  s.generations = config.get<std::int64_t>("attack.generations");
  s.cache_mb = config.get<std::int64_t>("attack.cache_mb");
  s.layer_rounds = config.get<std::int64_t>("attack.layer_rounds");
  s.snapshot_every = config.get<std::int64_t>("attack.snapshot_every");
  s.checkpoint_seconds = config.get<double>("run.checkpoint_seconds");
  s.drop_rate = config.get<double>("attack.drop_rate");
  s.time_budget = config.get<double>("attack.time_budget");
  s.target_fitness = config.get<double>("attack.target_fitness");
  s.history = config.get<bool>("attack.history");
  s.resume = config.get<bool>("run.resume");
  s.replace = config.get<bool>("attack.replace");
  s.methods = search::read_method_settings(config);
  s.methods.knowledge = s.knowledge;
  s.methods.time_budget_s = s.time_budget;
  return s;
}

int run_attack(const Config& config, MPI_Comm world) {
  stop::install_handlers();
  attack::Inputs inputs;
  inputs.model_path = config.get<std::string>("model.checkpoint");
  inputs.model_arch = config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch");
  inputs.data_name = config.get<std::string>("data.name");
  inputs.data_dir = config.get<std::string>("data.dir");
  inputs.blocks = agree(world, [&] { return block_settings(config); });
  inputs.output_path = [&](const std::string& arch) { return output_path(config, world, "attack-" + arch); };
  inputs.public_data = [&](const std::string& arch) {
    return public_split(load_data_for(config, arch, world), config, world);
  };
  inputs.fingerprint = config.fingerprint(kContinuationOptions);
  inputs.config_text = config.ini_text();
  return attack::run(attack_settings(config), inputs, world);
}

}  // namespace
}  // namespace cmd_attack

const Command attack_command{"attack", "search the held blocks' positions (GA, annealing, assignment, matching, chains of them) on an attack group",
                             cmd_attack::add_attack_options, cmd_attack::run_attack};

}  // namespace tessera::cli
