// tessera attack: the adversary's search for the positions of the blocks it holds
// (the seed's P2, section IV), on its own rank group. The service ranks hand over
// the compromised devices' blocks (the hijack); the attack ranks run an island GA
// or simulated-annealing chains on the tile-cached fitness and write the history.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "attack/campaign.hpp"
#include "attack/assessment.hpp"
#include "attack/checkpoint.hpp"
#include "attack/hijack.hpp"
#include "attack/methods.hpp"
#include "cli/bench_timing.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/stop.hpp"
#include "data/datasets.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "threat/adversary.hpp"

namespace tessera::cli {

namespace {

std::string method_help() {
  std::string text = "the search:";
  for (const auto& m : attack::search_methods()) text += " " + m.name + " (" + m.summary + ");";
  text.back() = '.';
  return text + " A chain such as stats,assignment,sa runs the methods in turn, each from the best placement "
                "the one before came to rest on (methods that start from data alone come first; ga and sa, "
                "which never come to rest, last).";
}

void add_attack_options(po::options_description& options) {
  add_common_options(options, "attack");
  add_block_options(options);
  add_run_name_option(options);
  options.add_options()
    ("attack.ranks", po::value<int>()->default_value(1), "ranks of the attack group (the first ones); the rest serve")
    ("attack.method", po::value<std::string>()->default_value("ga"), method_help().c_str())
    ("attack.fitness", po::value<std::string>()->default_value("loss"),
     "accuracy (the seed's; discrete, so it stalls), loss (minus the cross-entropy) or fidelity")
    ("attack.eval_samples", po::value<std::int64_t>()->default_value(100), "test images the adversary scores on")
    ("attack.drop_rate", real_value(0.9), "fraction of blocks the adversary does not hold")
    ("attack.repeat", po::value<std::int64_t>()->default_value(0), "which compromised set (the sweeps' repeat index)")
    ("attack.generations", po::value<std::int64_t>()->default_value(100), "generations to run (SA: steps of sa.moves)")
    ("attack.time_budget", real_value(0), "stop after this many seconds (0 = no limit)")
    ("attack.target_fitness", real_value(INFINITY), "stop when the best fitness reaches it")
    ("attack.cache_mb", po::value<std::int64_t>()->default_value(2048),
     "memory for the tile cache per attack rank; above it tiles are computed per call")
    ("attack.snapshot_every", po::value<std::int64_t>()->default_value(0),
     "full-population snapshot every k generations (0 = none)")
    ("attack.history", flag_value(true),
     "record every generation's population fitness and diversity (false: summaries only)")
    ("attack.checkpoint_every", po::value<std::int64_t>()->default_value(0),
     "write <run.out>/<name>.checkpoint.h5 every k generations (0 = only when stopped by SIGTERM or SIGUSR1)")
    ("attack.resume", flag_value(false),
     "continue from <name>.checkpoint.h5; the result equals an uninterrupted run's (all other settings must match)")
    ("attack.run", po::value<std::string>()->default_value(""), "name of the /attack/<run> group (empty = the method)");
  for (const auto& method : attack::search_methods()) method.add_options(options);
}

void describe(const h5::Group& group, const Config& config, const models::ModelInfo& model,
              const blocks::Target& target, std::int64_t held, std::int64_t images, const attack::Outcome& outcome) {
  // Every setting, named without its section ("attack.method" -> "method").
  auto name = [](const std::string& key) { return key.substr(key.find('.') + 1); };
  for (const char* key : {"attack.method", "attack.fitness"}) group.set_attr(name(key), config.get<std::string>(key));
  for (const char* key : {"attack.drop_rate", "attack.time_budget"}) group.set_attr(name(key), config.get<double>(key));
  for (const char* key : {"attack.repeat", "attack.generations"}) group.set_attr(name(key), config.get<std::int64_t>(key));
  // Every method's settings, whichever ran, so that all runs' groups have one schema.
  for (const auto& method : attack::search_methods()) method.describe(group, config);
  group.set_attr("arch", model.arch);
  group.set_attr("layer", target.layer);
  group.set_attr("bh", target.grid.bh);
  group.set_attr("bw", target.grid.bw);
  group.set_attr("blocks", target.grid.count());
  group.set_attr("held", held);
  group.set_attr("eval_images", images);
  group.set_attr("stop_reason", outcome.stop_reason);
  group.set_attr("seconds", outcome.seconds);
  group.set_attr("evaluations", outcome.evaluations);
  group.set_attr("evaluations_computed", outcome.computed);
  group.set_attr("floor_seconds", outcome.floor_seconds);
  group.set_attr("functional_recovery", outcome.functional_recovery);
  group.set_attr("test_accuracy", outcome.test_accuracy);
  group.set_attr("true_test_accuracy", outcome.true_test_accuracy);
  group.set_attr("test_fidelity", outcome.test_fidelity);
  group.set_attr("victim_test_accuracy", model.test_accuracy);
}

// What may change between a run and its continuation.
const std::vector<std::string> kContinuationOptions = {"attack.resume", "attack.time_budget", "attack.checkpoint_every"};

std::string fingerprint(const Config& config) { return config.fingerprint(kContinuationOptions); }

int run_attack(const Config& config, MPI_Comm world) {
  stop::install_handlers();
  auto groups = attack::split_groups(world, config.get<int>("attack.ranks"));
  const auto seed = config.get<std::uint64_t>("run.seed");
  const auto method = config.get<std::string>("attack.method");
  const auto images = config.get<std::int64_t>("attack.eval_samples");
  const auto drop_rate = config.get<double>("attack.drop_rate");
  const auto chain = agree(world, [&] { return attack::search_chain(method); });
  const auto kind = agree(world, [&] {
    TESSERA_REQUIRE(images >= 1, "--attack.eval_samples: must be >= 1, got ", images);
    TESSERA_REQUIRE(drop_rate >= 0 && drop_rate < 1, "--attack.drop_rate: must be in [0, 1), got ", drop_rate,
                    drop_rate == 1 ? " (nothing held: nothing to search)" : "");
    TESSERA_REQUIRE(config.get<std::int64_t>("attack.generations") >= 0, "--attack.generations: must be >= 0");
    TESSERA_REQUIRE(config.get<std::int64_t>("attack.cache_mb") >= 0, "--attack.cache_mb: must be >= 0");
    const auto budget = config.get<double>("attack.time_budget");
    TESSERA_REQUIRE(std::isfinite(budget) && budget >= 0, "--attack.time_budget: must be a finite number of seconds "
                    ">= 0 (0 = no limit), got ", budget);
    for (const char* key : {"attack.checkpoint_every", "attack.snapshot_every"})
      TESSERA_REQUIRE(config.get<std::int64_t>(key) >= 0, "--", key, ": must be >= 0 (0 = never), got ",
                      config.get<std::int64_t>(key));
    TESSERA_REQUIRE(!std::isnan(config.get<double>("attack.target_fitness")), "--attack.target_fitness: NaN");
    // Checked by every rank now: after the hijack the service ranks no longer listen.
    attack::check_chain(chain, config);
    return attack::parse_fitness(config.get<std::string>("attack.fitness"));
  });
  auto model = models::load(config.get<std::string>("model.checkpoint"), world,
                            config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  const int service_ranks = size_of(world) - groups.attack_ranks;
  const auto target = agree(world, [&] {
    auto targets = blocks::plan(*model.network, block_settings(config), service_ranks);
    TESSERA_REQUIRE(targets.size() == 1, "--blocks.layers: the attack targets one layer, got ", targets.size());
    const auto& g = targets.front().grid;
    TESSERA_REQUIRE(g.out % g.bh == 0 && g.in % g.bw == 0, "--blocks.bh, --blocks.bw: the attack needs blocks of one ",
                    "shape, but ", g.out, "x", g.in, " is not a multiple of ", g.bh, "x", g.bw);
    return targets.front();
  });
  agree(world, [&] {
    // Every member of the population is a genome over the grid's positions; the
    // children of a generation are as many again.
    const auto& m = attack::largest_stage(chain, config);
    const double genomes = m.genomes_per_part(config);
    require_memory(genomes * static_cast<double>(target.grid.count()) * sizeof(std::int32_t) * groups.attack_ranks,
                   "--attack.method=" + m.name + ": " + std::to_string(static_cast<std::int64_t>(genomes)) +
                       " genomes per attack rank of " + std::to_string(target.grid.count()) + " positions" +
                       (m.size_option.empty() ? "" : " (--" + m.size_option + " " + std::to_string(config.get<std::int64_t>(m.size_option)) + ")"));
  });
  const auto held = agree(world, [&] {
    auto h = threat::held_blocks(target.placement, drop_rate, seed, config.get<std::int64_t>("attack.repeat"));
    TESSERA_REQUIRE(!h.empty(), "--attack.drop_rate: ", drop_rate, " leaves no block held; nothing to search");
    return h;
  });
  const auto test = agree(world, [&] {
    auto d = data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), 1, 0);
    TESSERA_REQUIRE(images <= d.test.size(), "--attack.eval_samples: ", images, " images asked, the test set has ",
                    d.test.size());
    return d.test;
  });
  // The adversary's images: the first of the test set.
  const data::Split eval{test.images.narrow(0, 0, images), test.labels.narrow(0, 0, images)};
  const auto path = output_path(config, world, "attack-" + model.info.arch);
  const auto checkpoint_path = cli::checkpoint_path(path);
  std::unique_ptr<attack::Checkpoint> resume;
  if (config.get<bool>("attack.resume")) {
    resume = std::make_unique<attack::Checkpoint>(attack::read_checkpoint(checkpoint_path, world));
    agree(world, [&] {
      TESSERA_REQUIRE(resume->fingerprint == fingerprint(config), "--attack.resume: '", checkpoint_path,
                      "' was written with other settings: ", first_difference(fingerprint(config), resume->fingerprint));
      TESSERA_REQUIRE(resume->history.positions == target.grid.count() &&
                          resume->history.held == static_cast<std::int64_t>(held.size()),
                      "--attack.resume: '", checkpoint_path, "' places ", resume->history.held, " blocks on ",
                      resume->history.positions, " positions, this run ", held.size(), " on ", target.grid.count());
    });
  }
  auto layer = models::split_at(*model.network, target.layer);

  // The service answers the eval images with the victim (its leader does).
  torch::Tensor answers;
  if (rank_of(world) == groups.attack_ranks) {
    torch::NoGradGuard no_grad;
    answers = model.network->forward(eval.images).argmax(1);
  }
  auto loot = attack::hijack(groups, target, layer.weight, held, answers, images, seed);

  attack::Outcome outcome;
  if (groups.attacker) {
    const auto victim_weight = layer.weight;  // for the assessment after the search, as the truth
    layer.weight = torch::Tensor();           // the search never sees the target weight
    attack::Knowledge knowledge{target.grid, layer, layer.features(eval.images), eval.labels, loot.victim_predictions,
                                loot.held, {}, {}, {}};
    knowledge.arch = model.info.arch;
    knowledge.target_parameter = target.layer + ".weight";
    for (const auto& p : model.network->named_parameters())  // every other weight matrix is known
      if (p.value().dim() >= 2 && p.key() != knowledge.target_parameter)
        knowledge.known_parameters.emplace_back(p.key(), p.value().detach());
    const attack::Fitness fitness(std::move(knowledge), kind, config.get<std::int64_t>("attack.cache_mb") << 20);
    auto search = attack::make_search(chain, fitness, config, seed, groups.group);
    log::info("attack: ", method, " on ", groups.attack_ranks, " attack rank(s), ", service_ranks,
              " service rank(s): ", held.size(), " of ", target.grid.count(), " blocks of ", target.layer, " held (",
              target.grid.bh, "x", target.grid.bw, "), ", images, " eval images, fitness ",
              config.get<std::string>("attack.fitness"), fitness.cached() ? ", tiles cached" : ", tiles per call");
    attack::CampaignSettings settings;
    settings.generations = config.get<std::int64_t>("attack.generations");
    settings.time_budget_s = config.get<double>("attack.time_budget");
    settings.target_fitness = config.get<double>("attack.target_fitness");
    settings.snapshot_every = config.get<std::int64_t>("attack.snapshot_every");
    settings.history = config.get<bool>("attack.history");
    settings.checkpoint_path = checkpoint_path;
    settings.checkpoint_every = config.get<std::int64_t>("attack.checkpoint_every");
    settings.fingerprint = fingerprint(config);
    // The floor: the GEMMs after the target layer of every evaluation at the sgemm
    // rate of the attack ranks (their sum), measured before and after the search (the
    // higher is taken: the stricter floor).
    const double rate_before = sgemm_rate();
    outcome = attack::run_campaign(*search, loot.truth, static_cast<std::int64_t>(held.size()), settings, groups.group,
                                   resume.get());
    double rate = std::max(rate_before, sgemm_rate());
    MPI_Allreduce(MPI_IN_PLACE, &rate, 1, MPI_DOUBLE, MPI_SUM, groups.group);
    std::int64_t counts[2] = {search->scored(), fitness.evaluations()};
    MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, groups.group);
    outcome.evaluations = counts[0];
    outcome.computed = counts[1];
    outcome.floor_seconds = static_cast<double>(outcome.evaluations) * fitness.floor_flops() / rate;
    if (rank_of(groups.group) == 0 && !outcome.checkpointed) {
      torch::NoGradGuard no_grad;
      const auto a =
          attack::assess(fitness, outcome.best, loot.truth, layer.features(test.images), test.labels, victim_weight);
      outcome.functional_recovery = a.functional_recovery;
      outcome.test_accuracy = a.test_accuracy;
      outcome.true_test_accuracy = a.true_test_accuracy;
      outcome.test_fidelity = a.test_fidelity;
    }
  }
  attack::wait_for_attack(groups);
  share_from_leader(outcome, world);
  if (outcome.checkpointed) {
    log::info("attack: stopped by ", outcome.stop_reason, " at generation ", outcome.history.generations() - 1,
              "; checkpoint '", checkpoint_path, "' written; continue with --attack.resume=true");
    attack::free_groups(groups);
    return 0;
  }

  io::OutputFile file(path, world, {"attack", config.ini_text(), seed, service_ranks, groups.attack_ranks});
  const auto run = config.get<std::string>("attack.run").empty() ? method : config.get<std::string>("attack.run");
  auto group = file.root().require_group("attack/" + run);
  describe(group, config, model.info, target, static_cast<std::int64_t>(held.size()), images, outcome);
  attack::write_history(outcome.history, group);
  std::vector<std::int32_t> truth(held.begin(), held.end());
  if (rank_of(world) == 0) truth = loot.truth;
  group.create_dataset<std::int32_t>("truth", {truth.size()}).write(truth.data());
  blocks::write_targets({target}, file.root());
  file.commit();
  std::error_code ignored;
  if (rank_of(world) == 0) std::filesystem::remove(checkpoint_path, ignored);  // superseded by the complete file
  const auto& h = outcome.history;
  log::info("attack: stopped on ", outcome.stop_reason, " after ", h.generations() - 1, " generations in ",
            outcome.seconds, " s: best fitness ", h.best_fitness.back(), ", best accuracy ", h.best_accuracy.back(),
            ", position recovery ", h.position_recovery.back(), " (functional ", outcome.functional_recovery,
            "); wrote '", path, "'");
  log::info("attack: test accuracy with the held blocks where the search put them ", outcome.test_accuracy,
            ", at their true positions ", outcome.true_test_accuracy, " (the victim: ", model.info.test_accuracy,
            "; the other blocks dropped); fidelity to the victim's answers ", outcome.test_fidelity);
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

const Command attack_command{"attack", "search the held blocks' positions (GA, annealing, assignment, matching, chains of them) on an attack group",
                             add_attack_options, run_attack};

}  // namespace tessera::cli
