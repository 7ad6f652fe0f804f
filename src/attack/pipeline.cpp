#include "attack/pipeline.hpp"

#include <algorithm>
#include <cmath>

#include "attack/layer_unknown.hpp"
#include "comm/device.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/ranks.hpp"
#include "io/h5.hpp"
#include "io/output_file.hpp"
#include "sweeps/adversary.hpp"

namespace tessera::attack {

namespace pipeline {
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
}  // namespace pipeline

AttackSetup prepare(const Settings& settings, const Inputs& inputs, MPI_Comm world) {
  AttackSetup s;
  s.settings = settings;
  s.fingerprint = inputs.fingerprint;
  s.config_text = inputs.config_text;
  const auto& a = s.settings;
  s.groups = split_groups(world, a.ranks);
  s.chain = agree(world, [&] { return search::search_chain(a.method); });
  s.kind = agree(world, [&] {
    TESSERA_REQUIRE(a.knowledge == "layer" || a.knowledge == "none", "--attack.knowledge: '", a.knowledge,
                    "' is not one of layer, none", a.knowledge == "positions" ? " (blocks at their true positions "
                    "need no search: that is the drop sweep, tessera drop)" : "");
    TESSERA_REQUIRE(a.eval_images >= 0, "--attack.eval_images: must be >= 0 (0 = the whole test set), got ",
                    a.eval_images);
    TESSERA_REQUIRE(a.drop_rate >= 0 && a.drop_rate < 1, "--attack.drop_rate: must be in [0, 1), got ", a.drop_rate,
                    a.drop_rate == 1 ? " (nothing held: nothing to search)" : "");
    TESSERA_REQUIRE(a.generations >= 0, "--attack.generations: must be >= 0");
    TESSERA_REQUIRE(a.held_set >= 0, "--attack.held_set: must be >= 0, got ", a.held_set);
    TESSERA_REQUIRE(a.cache_mb >= 0, "--attack.cache_mb: must be >= 0");
    TESSERA_REQUIRE(a.layer_rounds >= 1, "--attack.layer_rounds: must be >= 1, got ", a.layer_rounds);
    TESSERA_REQUIRE(std::isfinite(a.time_budget) && a.time_budget >= 0, "--attack.time_budget: must be a finite "
                    "number of seconds >= 0 (0 = no limit), got ", a.time_budget);
    TESSERA_REQUIRE(std::isfinite(a.checkpoint_seconds) && a.checkpoint_seconds >= 0, "--run.checkpoint_seconds: "
                    "must be a finite number of seconds >= 0 (0 = after every generation), got ", a.checkpoint_seconds);
    TESSERA_REQUIRE(a.snapshot_every >= 0, "--attack.snapshot_every: must be >= 0 (0 = never), got ",
                    a.snapshot_every);
    TESSERA_REQUIRE(!std::isnan(a.target_fitness), "--attack.target_fitness: NaN");
    // Checked by every rank now: after the hijack the service ranks no longer listen.
    search::check_chain(s.chain, a.methods);
    return scoring::parse_fitness(a.fitness);
  });
  const int local_rank = node_place(world).rank;
  s.device = agree(world, [&] {
    return comm::require_device("--attack.device", a.device, local_rank);
  });
  s.model = models::load(inputs.model_path, world, inputs.model_arch);
  s.service_ranks = size_of(world) - s.groups.attack_ranks;
  s.targets = agree(world, [&] {
    auto targets = blocks::plan(*s.model.network, inputs.blocks, s.service_ranks);
    pipeline::check_targets(targets, a.knowledge);
    return targets;
  });
  agree(world, [&] {
    // Every member of the population is a genome over the grid's positions; the
    // children of a generation are as many again.
    std::int64_t positions = 0;
    for (const auto& t : s.targets) positions = std::max(positions, t.grid.count());
    const auto& m = search::largest_stage(s.chain, a.methods);
    const double genomes = m.genomes_per_part(a.methods);
    require_memory(genomes * static_cast<double>(positions) * sizeof(std::int32_t) * s.groups.attack_ranks,
                   "--attack.method=" + m.name + ": " + std::to_string(static_cast<std::int64_t>(genomes)) +
                       " genomes per attack rank of " + std::to_string(positions) + " positions" +
                       (m.size_option.empty() ? "" : " (set by --" + m.size_option + ")"));
  });
  if (!a.layers_from.empty()) {
    agree(world, [&] {
      TESSERA_REQUIRE(a.knowledge == "none", "--attack.layers_from: the eavesdropper's groups are layer knowledge for "
                      "--attack.knowledge=none (got '", a.knowledge, "')");
    });
    s.stream_groups = agree(world, [&] { return read_stream_groups(a.layers_from, cut_layers(s.targets), world); });
  }
  s.test = agree(world, [&] {
    auto d = data::load(inputs.data_name, inputs.data_dir, 1, 0);
    TESSERA_REQUIRE(a.eval_images <= d.test.size(), "--attack.eval_images: ", a.eval_images, " images asked, the ",
                    "test set has ", d.test.size());
    return d.test;
  });
  // The adversary's images: the first of the test set (all of them for 0).
  if (s.settings.eval_images == 0) s.settings.eval_images = s.test.size();
  s.eval = data::Split{s.test.images.narrow(0, 0, a.eval_images), s.test.labels.narrow(0, 0, a.eval_images)};
  if (std::any_of(s.chain.begin(), s.chain.end(), [](const auto* m) { return m->needs_public_data; }))
    s.public_data = inputs.public_data(s.model.info.arch);
  s.path = inputs.output_path(s.model.info.arch);
  agree(world, [&] {
    TESSERA_REQUIRE(a.run.find_first_of("/@") == std::string::npos, "--attack.run: '", a.run,
                    "' must not contain '/' or '@' (it names the group /attack/<run>)");
  });
  // The file collects runs: refuse now, not after the search, a run it cannot take.
  io::require_room_for_runs(s.path, world, "attack", run_groups(s),
                            [&](const h5::Group& root) { return blocks::difference_from_file(s.targets, root); });
  return s;
}

std::vector<std::int64_t> held_of(const AttackSetup& setup, const blocks::Target& target, MPI_Comm world) {
  const auto& a = setup.settings;
  return agree(world, [&] {
    auto h = sweeps::held_blocks(target.placement, a.drop_rate, a.seed, a.held_set);
    TESSERA_REQUIRE(!h.empty(), "--attack.drop_rate: ", a.drop_rate, " leaves no block of ", target.layer,
                    " held; nothing to search");
    return h;
  });
}

torch::Tensor service_answers(const AttackSetup& setup, MPI_Comm world) {
  if (rank_of(world) != setup.groups.attack_ranks) return {};
  torch::NoGradGuard no_grad;
  return setup.model.network->forward(setup.eval.images).argmax(1);
}

scoring::Knowledge knowledge_of(const AttackSetup& setup, const blocks::Grid& grid, const models::TargetLayer& layer,
                               const torch::Tensor& held, const torch::Tensor& victim_predictions,
                               const std::string& target_parameter, const std::vector<std::string>& secret) {
  scoring::Knowledge knowledge{grid, layer, layer.features(setup.eval.images), setup.eval.labels, victim_predictions,
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

search::CampaignSettings campaign_settings(const Settings& settings, const std::string& checkpoint_path) {
  search::CampaignSettings campaign;
  campaign.generations = settings.generations;
  campaign.time_budget_s = settings.time_budget;
  campaign.target_fitness = settings.target_fitness;
  campaign.snapshot_every = settings.snapshot_every;
  campaign.history = settings.history;
  campaign.checkpoint_path = checkpoint_path;
  campaign.checkpoint_seconds = settings.checkpoint_seconds;
  return campaign;
}

LayerSearch search_layer(const AttackSetup& setup, scoring::Knowledge knowledge,
                         const blocks::Genome& truth, const search::CampaignSettings& campaign,
                         const search::Checkpoint* resume) {
  const auto& a = setup.settings;
  const auto layer = knowledge.target_parameter;
  const auto grid = knowledge.grid;
  LayerSearch result;
  result.fitness = std::make_unique<scoring::Fitness>(std::move(knowledge), setup.kind,
                                                     a.cache_mb << 20, setup.device);
  auto& fitness = *result.fitness;
  auto methods = a.methods;
  methods.time_budget_s = campaign.time_budget_s;  // this search's: in rounds, its share of the run's
  auto search = search::make_search(setup.chain, fitness, methods, a.seed, setup.groups.group);
  log::info("attack: ", a.method, " on ", setup.groups.attack_ranks, " attack rank(s), ", setup.service_ranks,
            " service rank(s): ", fitness.held(), " of ", grid.count(), " blocks of ", layer, " held (", grid.bh, "x",
            grid.bw, "), ", a.eval_images, " eval images, fitness ", a.fitness,
            fitness.cached() ? ", tiles cached" : ", tiles per call", ", scoring on ", fitness.device().str());
  // The floor: the GEMMs after the target layer of every evaluation at the sgemm
  // rate of the attack ranks (their sum), measured before and after the search (the
  // higher is taken: the stricter floor).
  const double rate_before = comm::sgemm_rate(fitness.device());
  auto& outcome = result.outcome;
  outcome = search::run_campaign(*search, truth, fitness.held(), campaign, setup.groups.group, resume);
  double rate = std::max(rate_before, comm::sgemm_rate(fitness.device()));
  MPI_Allreduce(MPI_IN_PLACE, &rate, 1, MPI_DOUBLE, MPI_SUM, setup.groups.group);
  std::int64_t counts[2] = {search->scored(), fitness.evaluations()};
  MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, setup.groups.group);
  outcome.evaluations = counts[0];
  outcome.computed = counts[1];
  outcome.floor_seconds = static_cast<double>(outcome.evaluations) * fitness.floor_flops() / rate;
  result.reference = search->reference();
  return result;
}

void describe(const h5::Group& group, const AttackSetup& setup, const blocks::Target& target,
              std::int64_t held, const search::Outcome& outcome) {
  const auto& a = setup.settings;
  group.set_attr("method", a.method);
  group.set_attr("fitness", a.fitness);
  group.set_attr("knowledge", a.knowledge);
  group.set_attr("device", a.device);
  group.set_attr("drop_rate", a.drop_rate);
  group.set_attr("time_budget", a.time_budget);
  group.set_attr("held_set", a.held_set);
  group.set_attr("generations", a.generations);
  // Every method's settings, whichever ran, so that all runs' groups have one schema.
  for (const auto& method : search::search_methods()) method.describe(group, a.methods);
  group.set_attr("arch", setup.model.info.arch);
  group.set_attr("layer", target.layer);
  group.set_attr("bh", target.grid.bh);
  group.set_attr("bw", target.grid.bw);
  group.set_attr("blocks", target.grid.count());
  group.set_attr("held", held);
  group.set_attr("eval_images", a.eval_images);
  group.set_attr("public_images", a.public_images);
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

std::vector<io::RunName> run_groups(const AttackSetup& setup) {
  const auto& a = setup.settings;
  const auto run = a.run.empty() ? a.method : a.run;
  auto name = [&](const std::string& group) { return io::RunName{group, "--attack.run", "--attack.replace", a.replace}; };
  if (a.knowledge != "none") return {name("attack/" + run)};
  std::vector<io::RunName> groups;
  for (const auto& target : setup.targets) groups.push_back(name("attack/" + run + "@" + target.layer));
  return groups;
}

void write_cut_once(const std::vector<blocks::Target>& targets, const h5::Group& root, MPI_Comm world) {
  if (!root.exists("blocks")) return blocks::write_targets(targets, root);
  agree(world, [&] {
    const auto difference = blocks::difference_from_file(targets, root);
    TESSERA_REQUIRE(difference.empty(), "cannot add this run to the attack file: ", difference);
  });
}

int run(const Settings& settings, const Inputs& inputs, MPI_Comm world) {
  auto setup = prepare(settings, inputs, world);
  if (setup.settings.knowledge == "none") {
    if (setup.settings.resume)  // a requeued job passes it to every attack
      log::info("attack: --attack.knowledge=none searches in rounds and keeps no checkpoint; --run.resume=true "
                "starts from the first round");
    return run_pooled_layers(setup, world);
  }
  return run_known_layer(setup, world);
}

}  // namespace tessera::attack
