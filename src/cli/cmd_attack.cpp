// tessera attack: the adversary's search for the positions of the blocks it holds
// (the seed's P2, section IV), on its own rank group. The service ranks hand over
// the compromised devices' blocks (the hijack); the attack ranks run the chosen
// search method (or chain of methods) on the tile-cached fitness and write the history.
#include <cmath>
#include <filesystem>

#include "attack/assessment.hpp"
#include "blocks/grid.hpp"
#include "cli/attack_setup.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "models/registry.hpp"

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
    ("attack.eval_samples", po::value<std::int64_t>()->default_value(100), "test images the adversary scores on")
    ("attack.drop_rate", real_value(0.9), "fraction of blocks the adversary does not hold")
    ("attack.repeat", po::value<std::int64_t>()->default_value(0), "which compromised set (the sweeps' repeat index)")
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
    ("attack.checkpoint_every", po::value<std::int64_t>()->default_value(0),
     "write <run.out>/<name>.checkpoint.h5 every k generations (0 = only when stopped by SIGTERM or SIGUSR1)")
    ("attack.resume", flag_value(false),
     "continue from <name>.checkpoint.h5; the result equals an uninterrupted run's (all other settings must match)")
    ("attack.run", po::value<std::string>()->default_value(""),
     "name of the /attack/<run> group (empty = the method); the output file collects runs: a new name is "
     "added beside the runs already in it")
    ("attack.replace", flag_value(false),
     "replace a run of the same name in the output file (the file's other runs are kept; without it such a run "
     "is refused before the search)");
  for (const auto& method : search::search_methods()) method.add_options(options);
}

// What may change between a run and its continuation (run.out: a checkpoint may move with its folder).
const std::vector<std::string> kContinuationOptions = {"attack.resume", "attack.time_budget", "attack.checkpoint_every",
                                                       "attack.replace", "run.out"};

std::string fingerprint(const Config& config) { return config.fingerprint(kContinuationOptions); }

int run_attack(const Config& config, MPI_Comm world) {
  stop::install_handlers();
  auto setup = prepare_attack(config, world);
  if (setup.knowledge == "none") return run_attack_layer_unknown(setup, config, world);
  auto& groups = setup.groups;
  const auto& target = setup.targets.front();
  const auto held = held_of(setup, config, target, world);
  const auto checkpoint_path = cli::checkpoint_path(setup.path);
  std::unique_ptr<search::Checkpoint> resume;
  // A fresh run would replace a stopped run's checkpoint, and with it the work done.
  const bool stopped_run = agree(world, [&] { return std::filesystem::exists(checkpoint_path); });
  if (stopped_run && !config.get<bool>("attack.resume"))
    agree_on_message(world, "'" + checkpoint_path + "' holds a stopped attack run: continue it with "
                            "--attack.resume=true, or remove the file to start again");
  if (config.get<bool>("attack.resume")) {
    resume = std::make_unique<search::Checkpoint>(search::read_checkpoint(checkpoint_path, world));
    agree(world, [&] {
      TESSERA_REQUIRE(resume->fingerprint == fingerprint(config), "--attack.resume: '", checkpoint_path,
                      "' was written with other settings: ", first_difference(fingerprint(config), resume->fingerprint));
      TESSERA_REQUIRE(resume->history.positions == target.grid.count() &&
                          resume->history.held == static_cast<std::int64_t>(held.size()),
                      "--attack.resume: '", checkpoint_path, "' places ", resume->history.held, " blocks on ",
                      resume->history.positions, " positions, this run ", held.size(), " on ", target.grid.count());
    });
  }
  auto layer = models::split_at(*setup.model.network, target.layer);
  const auto answers = service_answers(setup, world);
  auto loot = attack::hijack(groups, target, layer.weight, held, answers, setup.images, setup.seed);

  search::Outcome outcome;
  if (groups.attacker) {
    const auto victim_weight = layer.weight;  // for the assessment after the search, as the truth
    layer.weight = torch::Tensor();           // the search never sees the target weight
    auto settings = campaign_settings(config, checkpoint_path);
    settings.fingerprint = fingerprint(config);
    auto result = search_layer(setup, config,
                               knowledge_of(setup, target.grid, layer, loot.held, loot.victim_predictions,
                                            target.layer + ".weight", {}),
                               loot.truth, settings, resume.get());
    outcome = std::move(result.outcome);
    if (rank_of(groups.group) == 0 && !outcome.checkpointed) {
      torch::NoGradGuard no_grad;
      const auto a = attack::assess(*result.fitness, outcome.best, loot.truth, layer.features(setup.test.images),
                                    setup.test.labels, victim_weight);
      outcome.functional_recovery = a.functional_recovery;
      outcome.test_accuracy = a.test_accuracy;
      outcome.true_test_accuracy = a.true_test_accuracy;
      outcome.test_fidelity = a.test_fidelity;
      if (result.reference.defined() && setup.model.info.init_seed >= 0) {
        const auto initial = blocks::as_matrix(
            models::build(setup.model.info.arch, static_cast<std::uint64_t>(setup.model.info.init_seed))
                ->named_parameters()[target.layer + ".weight"]);
        const auto q = attack::assess_template(*result.fitness, result.reference, loot.truth, victim_weight, initial);
        outcome.template_correlation = q.correlation;
        outcome.template_ceiling = q.ceiling;
      }
    }
  }
  attack::wait_for_attack(groups);
  search::share_from_leader(outcome, world);
  if (outcome.checkpointed) {
    log::info("attack: stopped by ", outcome.stop_reason, " at generation ", outcome.history.generations() - 1,
              "; checkpoint '", checkpoint_path, "' written; continue with --attack.resume=true");
    attack::free_groups(groups);
    return 0;
  }

  io::OutputFile file(setup.path, world,
                      {"attack", config.ini_text(), setup.seed, setup.service_ranks, groups.attack_ranks},
                      io::Existing::add_run);
  auto group = file.create_run(run_groups(config, setup).front());
  describe(group, config, setup, target, static_cast<std::int64_t>(held.size()), outcome);
  search::write_history(outcome.history, group);
  std::vector<std::int32_t> truth(held.begin(), held.end());
  if (rank_of(world) == 0) truth = loot.truth;
  group.create_dataset<std::int32_t>("truth", {truth.size()}).write(truth.data());
  write_cut_once({target}, file.root(), world);
  file.commit();
  std::error_code ignored;
  if (rank_of(world) == 0) std::filesystem::remove(checkpoint_path, ignored);  // superseded by the complete file
  const auto& h = outcome.history;
  log::info("attack: stopped on ", outcome.stop_reason, " after ", h.generations() - 1, " generations in ",
            outcome.seconds, " s: best fitness ", h.best_fitness.back(), ", best accuracy ", h.best_accuracy.back(),
            ", position recovery ", h.position_recovery.back(), " (functional ", outcome.functional_recovery,
            "); wrote '", setup.path, "'");
  log::info("attack: test accuracy with the held blocks where the search put them ", outcome.test_accuracy,
            ", at their true positions ", outcome.true_test_accuracy, " (the victim: ", setup.model.info.test_accuracy,
            "; the other blocks dropped); fidelity to the victim's answers ", outcome.test_fidelity);
  if (!std::isnan(outcome.template_ceiling))
    log::info("attack: the template correlates ", outcome.template_correlation, " with the victim's own update; ",
              "placed by that update itself, ", outcome.template_ceiling, " of the held blocks would be at their ",
              "true positions (the ceiling of any template)");
  log::info("attack: ", outcome.evaluations, " candidates scored, ",
            outcome.computed < outcome.evaluations
                ? std::to_string(outcome.computed) + " of them computed (the others repeated a scored placement)"
                : std::string("all computed"),
            "; floor (the GEMMs after the target layer for every candidate scored, at the "
            "sgemm rate measured here) ", outcome.floor_seconds, " s; floor ratio ", outcome.seconds / outcome.floor_seconds);
  attack::free_groups(groups);
  return 0;
}

}  // namespace
}  // namespace cmd_attack

const Command attack_command{"attack", "search the held blocks' positions (GA, annealing, assignment, matching, chains of them) on an attack group",
                             cmd_attack::add_attack_options, cmd_attack::run_attack};

}  // namespace tessera::cli
