#include "cli/attack_setup.hpp"

#include <cmath>

#include "cli/bench_timing.hpp"
#include "cli/options.hpp"
#include "comm/device.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/ranks.hpp"
#include "io/h5.hpp"
#include "io/output_file.hpp"
#include "threat/adversary.hpp"

namespace tessera::cli {

namespace {

// Every cut layer's grid, checked for what the chosen knowledge needs.
void check_targets(const std::vector<blocks::Target>& targets, const std::string& knowledge) {
  if (knowledge == "none") {
    TESSERA_REQUIRE(targets.size() >= 2, "--attack.knowledge=none: the adversary must find its blocks' layers, so ",
                    "it needs two or more cut layers (--blocks.layers=a,b); with one, the layer is known");
  } else {
    TESSERA_REQUIRE(targets.size() == 1, "--blocks.layers: the attack with knowledge '", knowledge,
                    "' targets one layer, got ", targets.size(), " (several: --attack.knowledge=none)");
  }
  for (const auto& t : targets) {
    const auto& g = t.grid;
    TESSERA_REQUIRE(g.out % g.bh == 0 && g.in % g.bw == 0, "--blocks.bh, --blocks.bw: the attack needs blocks of one ",
                    "shape, but ", t.layer, " (", g.out, "x", g.in, ") is not a multiple of ", g.bh, "x", g.bw);
  }
}

}  // namespace

AttackSetup prepare_attack(const Config& config, MPI_Comm world) {
  AttackSetup s;
  s.groups = attack::split_groups(world, config.get<int>("attack.ranks"));
  s.seed = config.get<std::uint64_t>("run.seed");
  s.method = config.get<std::string>("attack.method");
  s.knowledge = config.get<std::string>("attack.knowledge");
  s.images = config.get<std::int64_t>("attack.eval_samples");
  s.drop_rate = config.get<double>("attack.drop_rate");
  s.chain = agree(world, [&] { return search::search_chain(s.method); });
  s.kind = agree(world, [&] {
    TESSERA_REQUIRE(s.knowledge == "layer" || s.knowledge == "none", "--attack.knowledge: '", s.knowledge,
                    "' is not one of layer, none", s.knowledge == "positions" ? " (blocks at their true positions "
                    "need no search: that is the drop sweep, tessera drop)" : "");
    TESSERA_REQUIRE(s.images >= 1, "--attack.eval_samples: must be >= 1, got ", s.images);
    TESSERA_REQUIRE(s.drop_rate >= 0 && s.drop_rate < 1, "--attack.drop_rate: must be in [0, 1), got ", s.drop_rate,
                    s.drop_rate == 1 ? " (nothing held: nothing to search)" : "");
    TESSERA_REQUIRE(config.get<std::int64_t>("attack.generations") >= 0, "--attack.generations: must be >= 0");
    TESSERA_REQUIRE(config.get<std::int64_t>("attack.cache_mb") >= 0, "--attack.cache_mb: must be >= 0");
    TESSERA_REQUIRE(config.get<std::int64_t>("attack.layer_rounds") >= 1, "--attack.layer_rounds: must be >= 1, got ",
                    config.get<std::int64_t>("attack.layer_rounds"));
    const auto budget = config.get<double>("attack.time_budget");
    TESSERA_REQUIRE(std::isfinite(budget) && budget >= 0, "--attack.time_budget: must be a finite number of seconds "
                    ">= 0 (0 = no limit), got ", budget);
    for (const char* key : {"attack.checkpoint_every", "attack.snapshot_every"})
      TESSERA_REQUIRE(config.get<std::int64_t>(key) >= 0, "--", key, ": must be >= 0 (0 = never), got ",
                      config.get<std::int64_t>(key));
    TESSERA_REQUIRE(!std::isnan(config.get<double>("attack.target_fitness")), "--attack.target_fitness: NaN");
    if (s.knowledge == "none")
      TESSERA_REQUIRE(!config.get<bool>("attack.resume") && config.get<std::int64_t>("attack.checkpoint_every") == 0,
                      "--attack.resume, --attack.checkpoint_every: a run with --attack.knowledge=none searches its ",
                      "layers in rounds and keeps no checkpoint");
    // Checked by every rank now: after the hijack the service ranks no longer listen.
    search::check_chain(s.chain, config);
    return scoring::parse_fitness(config.get<std::string>("attack.fitness"));
  });
  const int local_rank = node_place(world).rank;
  s.device = agree(world, [&] {
    return comm::require_device("--attack.device", config.get<std::string>("attack.device"), local_rank);
  });
  s.model = models::load(config.get<std::string>("model.checkpoint"), world,
                         config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  s.service_ranks = size_of(world) - s.groups.attack_ranks;
  s.targets = agree(world, [&] {
    auto targets = blocks::plan(*s.model.network, block_settings(config), s.service_ranks);
    check_targets(targets, s.knowledge);
    return targets;
  });
  agree(world, [&] {
    // Every member of the population is a genome over the grid's positions; the
    // children of a generation are as many again.
    std::int64_t positions = 0;
    for (const auto& t : s.targets) positions = std::max(positions, t.grid.count());
    const auto& m = search::largest_stage(s.chain, config);
    const double genomes = m.genomes_per_part(config);
    require_memory(genomes * static_cast<double>(positions) * sizeof(std::int32_t) * s.groups.attack_ranks,
                   "--attack.method=" + m.name + ": " + std::to_string(static_cast<std::int64_t>(genomes)) +
                       " genomes per attack rank of " + std::to_string(positions) + " positions" +
                       (m.size_option.empty() ? "" : " (--" + m.size_option + " " + std::to_string(config.get<std::int64_t>(m.size_option)) + ")"));
  });
  const auto layers_from = config.get<std::string>("attack.layers_from");
  if (!layers_from.empty()) {
    agree(world, [&] {
      TESSERA_REQUIRE(s.knowledge == "none", "--attack.layers_from: the eavesdropper's groups are layer knowledge for "
                      "--attack.knowledge=none (got '", s.knowledge, "')");
    });
    std::vector<std::string> names;
    std::vector<std::int64_t> blocks;
    for (const auto& t : s.targets) {
      names.push_back(t.layer);
      blocks.push_back(t.grid.count());
    }
    s.stream_groups = agree(world, [&] { return attack::read_stream_groups(layers_from, names, blocks, world); });
  }
  s.test = agree(world, [&] {
    auto d = data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), 1, 0);
    TESSERA_REQUIRE(s.images <= d.test.size(), "--attack.eval_samples: ", s.images, " images asked, the test set has ",
                    d.test.size());
    return d.test;
  });
  // The adversary's images: the first of the test set.
  s.eval = data::Split{s.test.images.narrow(0, 0, s.images), s.test.labels.narrow(0, 0, s.images)};
  if (std::any_of(s.chain.begin(), s.chain.end(), [](const auto* m) { return m->needs_public_data; }))
    s.public_data = public_split(load_data_for(config, s.model.info.arch, world), config, world);
  s.path = output_path(config, world, "attack-" + s.model.info.arch);
  agree(world, [&] {
    const auto run = config.get<std::string>("attack.run");
    TESSERA_REQUIRE(run.find_first_of("/@") == std::string::npos, "--attack.run: '", run,
                    "' must not contain '/' or '@' (it names the group /attack/<run>)");
  });
  // The file collects runs: refuse now, not after the search, a run it cannot take.
  io::require_room_for_runs(s.path, world, "attack", run_groups(config, s),
                            [&](const h5::Group& root) { return blocks::difference_from_file(s.targets, root); });
  return s;
}

std::vector<std::int64_t> held_of(const AttackSetup& setup, const Config& config, const blocks::Target& target,
                                  MPI_Comm world) {
  return agree(world, [&] {
    auto h = threat::held_blocks(target.placement, setup.drop_rate, setup.seed,
                                 config.get<std::int64_t>("attack.repeat"));
    TESSERA_REQUIRE(!h.empty(), "--attack.drop_rate: ", setup.drop_rate, " leaves no block of ", target.layer,
                    " held; nothing to search");
    return h;
  });
}

torch::Tensor service_answers(const AttackSetup& setup, MPI_Comm world) {
  if (rank_of(world) != setup.groups.attack_ranks) return {};
  torch::NoGradGuard no_grad;
  return setup.model.network->forward(setup.eval.images).argmax(1);
}

attack::Knowledge knowledge_of(const AttackSetup& setup, const blocks::Grid& grid, const models::TargetLayer& layer,
                               const torch::Tensor& held, const torch::Tensor& victim_predictions,
                               const std::string& target_parameter, const std::vector<std::string>& secret) {
  attack::Knowledge knowledge{grid, layer, layer.features(setup.eval.images), setup.eval.labels, victim_predictions,
                              held, {}, {}, {}, {}, {}, {}};
  knowledge.arch = setup.model.info.arch;
  knowledge.target_parameter = target_parameter;
  for (const auto& p : setup.model.network->named_parameters()) {  // every other weight matrix is known
    const bool hidden = p.key() == target_parameter || std::find(secret.begin(), secret.end(), p.key()) != secret.end();
    if (hidden) {
      knowledge.unknown.push_back(p.key());
      continue;
    }
    knowledge.known_state.emplace_back(p.key(), p.value().detach());
    if (p.value().dim() >= 2) knowledge.known_parameters.emplace_back(p.key(), p.value().detach());
  }
  for (const auto& b : setup.model.network->named_buffers()) knowledge.known_state.emplace_back(b.key(), b.value().detach());
  knowledge.public_data = setup.public_data;
  return knowledge;
}

search::CampaignSettings campaign_settings(const Config& config, const std::string& checkpoint_path) {
  search::CampaignSettings settings;
  settings.generations = config.get<std::int64_t>("attack.generations");
  settings.time_budget_s = config.get<double>("attack.time_budget");
  settings.target_fitness = config.get<double>("attack.target_fitness");
  settings.snapshot_every = config.get<std::int64_t>("attack.snapshot_every");
  settings.history = config.get<bool>("attack.history");
  settings.checkpoint_path = checkpoint_path;
  settings.checkpoint_every = config.get<std::int64_t>("attack.checkpoint_every");
  return settings;
}

LayerSearch search_layer(const AttackSetup& setup, const Config& config, attack::Knowledge knowledge,
                         const search::Genome& truth, const search::CampaignSettings& settings,
                         const search::Checkpoint* resume) {
  const auto layer = knowledge.target_parameter;
  const auto grid = knowledge.grid;
  LayerSearch result;
  result.fitness = std::make_unique<scoring::Fitness>(std::move(knowledge), setup.kind,
                                                     config.get<std::int64_t>("attack.cache_mb") << 20, setup.device);
  auto& fitness = *result.fitness;
  auto search = search::make_search(setup.chain, fitness, config, setup.seed, setup.groups.group);
  log::info("attack: ", setup.method, " on ", setup.groups.attack_ranks, " attack rank(s), ", setup.service_ranks,
            " service rank(s): ", fitness.held(), " of ", grid.count(), " blocks of ", layer, " held (", grid.bh, "x",
            grid.bw, "), ", setup.images, " eval images, fitness ", config.get<std::string>("attack.fitness"),
            fitness.cached() ? ", tiles cached" : ", tiles per call", ", scoring on ", fitness.device().str());
  // The floor: the GEMMs after the target layer of every evaluation at the sgemm
  // rate of the attack ranks (their sum), measured before and after the search (the
  // higher is taken: the stricter floor).
  const double rate_before = sgemm_rate(fitness.device());
  auto& outcome = result.outcome;
  outcome = search::run_campaign(*search, truth, fitness.held(), settings, setup.groups.group, resume);
  double rate = std::max(rate_before, sgemm_rate(fitness.device()));
  MPI_Allreduce(MPI_IN_PLACE, &rate, 1, MPI_DOUBLE, MPI_SUM, setup.groups.group);
  std::int64_t counts[2] = {search->scored(), fitness.evaluations()};
  MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, setup.groups.group);
  outcome.evaluations = counts[0];
  outcome.computed = counts[1];
  outcome.floor_seconds = static_cast<double>(outcome.evaluations) * fitness.floor_flops() / rate;
  result.reference = search->reference();
  return result;
}

void describe(const h5::Group& group, const Config& config, const AttackSetup& setup, const blocks::Target& target,
              std::int64_t held, const search::Outcome& outcome) {
  // Every setting, named without its section ("attack.method" -> "method").
  auto name = [](const std::string& key) { return key.substr(key.find('.') + 1); };
  for (const char* key : {"attack.method", "attack.fitness", "attack.knowledge", "attack.device"})
    group.set_attr(name(key), config.get<std::string>(key));
  for (const char* key : {"attack.drop_rate", "attack.time_budget"}) group.set_attr(name(key), config.get<double>(key));
  for (const char* key : {"attack.repeat", "attack.generations"}) group.set_attr(name(key), config.get<std::int64_t>(key));
  // Every method's settings, whichever ran, so that all runs' groups have one schema.
  for (const auto& method : search::search_methods()) method.describe(group, config);
  group.set_attr("arch", setup.model.info.arch);
  group.set_attr("layer", target.layer);
  group.set_attr("bh", target.grid.bh);
  group.set_attr("bw", target.grid.bw);
  group.set_attr("blocks", target.grid.count());
  group.set_attr("held", held);
  group.set_attr("eval_images", setup.images);
  group.set_attr("public_images", config.get<std::int64_t>("adversary.public"));
  group.set_attr("public_split", std::string("train"));
  group.set_attr("stop_reason", outcome.stop_reason);
  group.set_attr("seconds", outcome.seconds);
  group.set_attr("evaluations", outcome.evaluations);
  group.set_attr("evaluations_computed", outcome.computed);
  group.set_attr("floor_seconds", outcome.floor_seconds);
  group.set_attr("functional_recovery", outcome.functional_recovery);
  group.set_attr("test_accuracy", outcome.test_accuracy);
  group.set_attr("true_test_accuracy", outcome.true_test_accuracy);
  group.set_attr("test_fidelity", outcome.test_fidelity);
  group.set_attr("template_correlation", outcome.template_correlation);
  group.set_attr("template_ceiling", outcome.template_ceiling);
  group.set_attr("victim_test_accuracy", setup.model.info.test_accuracy);
}

std::string run_name(const Config& config) {
  const auto run = config.get<std::string>("attack.run");
  return run.empty() ? config.get<std::string>("attack.method") : run;
}

std::vector<io::RunName> run_groups(const Config& config, const AttackSetup& setup) {
  auto name = [&](const std::string& group) {
    return io::RunName{group, "--attack.run", "--attack.replace", config.get<bool>("attack.replace")};
  };
  if (setup.knowledge != "none") return {name("attack/" + run_name(config))};
  std::vector<io::RunName> groups;
  for (const auto& target : setup.targets) groups.push_back(name("attack/" + run_name(config) + "@" + target.layer));
  return groups;
}

void write_cut_once(const std::vector<blocks::Target>& targets, const h5::Group& root, MPI_Comm world) {
  if (!root.exists("blocks")) return blocks::write_targets(targets, root);
  agree(world, [&] {
    const auto difference = blocks::difference_from_file(targets, root);
    TESSERA_REQUIRE(difference.empty(), "cannot add this run to the attack file: ", difference);
  });
}

}  // namespace tessera::cli
