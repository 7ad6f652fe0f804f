// tessera attack --attack.knowledge=none (the paper's S2, docs/DESIGN.md section 8.7):
// the compromised devices' blocks of every cut layer arrive pooled. The adversary
// sorts them into layers by their weights alone, then searches each layer's
// positions in rounds: each layer's search sees the other cut layers as the adversary
// last placed them (held blocks where it put them, the rest dropped). Every layer's
// last search is written as /attack/<run>@<layer> in the schema of one search, with
// the layer recovery and the whole model's assessment beside it.
#include <chrono>

#include "attack/assessment.hpp"
#include "attack/layer_unknown.hpp"
#include "attack/pipeline.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "models/metrics.hpp"

namespace tessera::attack {

namespace pooled_layers {
namespace {

// The pooled run's numbers over all cut layers (on the attack leader, then shared).
struct PooledResult {
  double layer_recovery = 0, chance = 0, position_recovery = 0, functional_recovery = 0, aligned_recovery = 0;
  double test_accuracy = 0, true_test_accuracy = 0, test_fidelity = 0;
  double seconds = 0;  // the whole run: sorting, every round's searches, the assessment
};

torch::Tensor weight_parameter(models::Network& network, const std::string& layer) {
  for (const auto& p : network.named_parameters())
    if (p.key() == layer + ".weight") return p.value();
  throw Error("no weight named " + layer);
}

// The network's top-1 answers on `images`, the steps before `first_cut` in chunks.
torch::Tensor predictions(models::Network& network, const std::string& first_cut, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const auto layer = models::split_at(network, first_cut);
  return layer.after_layer(torch::addmm(layer.bias, layer.features(images), layer.weight.t()), true).argmax(1);
}

// True when cut layer `lower`'s outputs reach `upper` through ReLU and Dropout only:
// relabelling those hidden units changes nothing but the biases.
bool feeds(const models::Network& network, const blocks::Target& lower, const blocks::Target& upper) {
  const auto& steps = network.steps();
  for (auto s = lower.step + 1; s < upper.step; ++s)
    if (!steps[s].relu && steps[s].dropout <= 0) return false;
  return true;
}

}  // namespace
}  // namespace pooled_layers

int run_pooled_layers(AttackSetup& setup, MPI_Comm world) {
  using namespace pooled_layers;
  const auto& a = setup.settings;
  auto& groups = setup.groups;
  auto& network = *setup.model.network;
  const auto& targets = setup.targets;
  const auto L = targets.size();
  std::vector<std::vector<std::int64_t>> held(L);
  std::vector<torch::Tensor> victim(L);  // the truth, for the assessment only
  std::vector<std::string> secret;        // no cut layer's weight is known
  for (std::size_t l = 0; l < L; ++l) {
    held[l] = held_of(setup, targets[l], world);
    victim[l] = blocks::as_matrix(weight_parameter(network, targets[l].layer)).detach().clone();
    secret.push_back(targets[l].layer + ".weight");
  }
  const auto answers = service_answers(setup, world);
  std::vector<Loot> loots;
  for (std::size_t l = 0; l < L; ++l)
    loots.push_back(hijack(groups, targets[l], victim[l], held[l], answers, a.eval_images, a.seed));

  std::vector<search::Outcome> outcomes(L);
  std::vector<blocks::Genome> truth(L);  // of the blocks each layer's search placed; -1: another layer's
  std::vector<std::vector<std::int32_t>> true_layer(L);
  PooledResult pooled_result;
  if (groups.attacker) {
    const auto started = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    const bool leader = rank_of(groups.group) == 0;
    torch::Tensor victim_test;  // the victim's answers on the test set, for the fidelity
    if (leader) victim_test = predictions(network, targets[0].layer, setup.test.images);
    const auto pooled = pool(loots, a.seed);
    const auto cut = cut_layers(targets);
    // From the streams the adversary's devices saw, or else from the blocks' weights.
    const auto found = setup.stream_groups ? layers_from_streams(*setup.stream_groups, cut, pooled.true_layer,
                                                                 pooled.true_position)
                                           : assign_layers(pooled.held, cut);
    const auto H = static_cast<std::int64_t>(found.size());
    pooled_result.layer_recovery = layer_recovery(found, pooled.true_layer);
    pooled_result.chance = chance_layer_recovery(found, pooled.true_layer, L);
    // Each layer's blocks, and where they are placed now (the first round: at random).
    std::vector<std::vector<std::int64_t>> members(L);
    for (std::int64_t k = 0; k < H; ++k) members[found[k]].push_back(k);
    std::vector<torch::Tensor> blocks(L);
    std::vector<blocks::Genome> placed(L);
    auto set_layer = [&](std::size_t l, const torch::Tensor& weight) {
      weight_parameter(network, targets[l].layer).copy_(weight.view_as(weight_parameter(network, targets[l].layer)));
    };
    std::string counts;
    for (std::size_t l = 0; l < L; ++l) {
      blocks[l] = pooled.held.index_select(0, torch::tensor(members[l], torch::kInt64)).contiguous();
      for (auto k : members[l]) {
        const bool here = pooled.true_layer[k] == static_cast<std::int32_t>(l);
        truth[l].push_back(here ? pooled.true_position[k] : -1);
        true_layer[l].push_back(pooled.true_layer[k]);
      }
      TESSERA_ASSERT(static_cast<std::int64_t>(members[l].size()) <= targets[l].grid.count(), members[l].size(),
                     " blocks sorted into ", targets[l].layer, ", which has ", targets[l].grid.count(), " positions");
      auto rng = make_rng(a.seed, "layer-start", l);
      const auto start = blocks::random_genome(static_cast<std::int32_t>(targets[l].grid.count()), rng);
      placed[l].assign(start.begin(), start.begin() + static_cast<std::ptrdiff_t>(members[l].size()));
      set_layer(l, blocks::place_blocks(targets[l].grid, blocks[l], {placed[l].begin(), placed[l].end()}));
      counts += (l ? ", " : "") + std::to_string(members[l].size()) + " to " + targets[l].layer + " (" +
                std::to_string(loots[l].truth.size()) + " held)";
    }
    log::info("attack: knowledge none: ", H, " pooled blocks sorted into ", L, " layers: ", counts,
              "; layer recovery ", pooled_result.layer_recovery, " (chance ", pooled_result.chance, ")");

    const auto rounds = a.layer_rounds;
    auto campaign = campaign_settings(a, "");  // no checkpoint: a signal ends the rounds
    // The time budget is the whole run's: each search gets an even share of what is
    // left (setting up a search's tiles takes time too).
    const double budget = campaign.time_budget_s;
    std::int64_t searches_left = 0;
    for (const auto& m : members) searches_left += m.empty() ? 0 : rounds;
    bool stopped = false;
    for (std::int64_t round = 0; round < rounds && !stopped; ++round) {
      for (std::size_t l = 0; l < L && !stopped; ++l) {
        if (members[l].empty()) continue;
        log::info("attack: round ", round + 1, " of ", rounds, ", ", targets[l].layer);
        if (budget > 0) {
          const double used = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          double share = std::max(1e-3, (budget - used) / static_cast<double>(searches_left));  // 0 would be no limit
          MPI_Bcast(&share, 1, MPI_DOUBLE, 0, groups.group);
          campaign.time_budget_s = share;
        }
        --searches_left;
        auto layer = models::split_at(network, targets[l].layer);
        layer.weight = torch::Tensor();
        auto result = search_layer(setup,
                                   knowledge_of(setup, targets[l].grid, layer, blocks[l], loots[l].victim_predictions,
                                                targets[l].layer + ".weight", secret),
                                   truth[l], campaign);
        // Every attack rank places the leader's best (the others hold no outcome.best).
        auto best = result.outcome.best;
        share_vector(best, MPI_INT32_T, groups.group);
        placed[l].assign(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(members[l].size()));
        set_layer(l, result.fitness->weight_of(best));
        outcomes[l] = std::move(result.outcome);
        if (leader)
          outcomes[l].functional_recovery = functional_recovery(*result.fitness, best, truth[l]);
        stopped = stop::agreed(groups.group) != 0;
      }
    }
    if (leader) {
      // The whole model as the adversary assembled it, and with every held block at
      // its true layer and position (what a perfect adversary reaches).
      const auto assembled = predictions(network, targets[0].layer, setup.test.images);
      pooled_result.test_accuracy = models::agreement(assembled, setup.test.labels);
      pooled_result.test_fidelity = models::agreement(assembled, victim_test);
      for (std::size_t l = 0; l < L; ++l)
        set_layer(l, blocks::place_blocks(targets[l].grid, loots[l].held,
                                          {loots[l].truth.begin(), loots[l].truth.end()}));
      pooled_result.true_test_accuracy =
          models::agreement(predictions(network, targets[0].layer, setup.test.images), setup.test.labels);
      double positions = 0, functional = 0;
      for (std::size_t l = 0; l < L; ++l) {
        for (std::size_t k = 0; k < members[l].size(); ++k) positions += placed[l][k] == truth[l][k];
        functional += outcomes[l].functional_recovery * static_cast<double>(members[l].size());
      }
      pooled_result.position_recovery = positions / static_cast<double>(H);
      std::vector<PlacedLayer> placements;
      for (std::size_t l = 0; l < L; ++l)
        placements.push_back({targets[l].grid, placed[l], truth[l],
                              l + 1 < L && feeds(network, targets[l], targets[l + 1])});
      pooled_result.aligned_recovery = aligned_recovery(placements);
      pooled_result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      pooled_result.functional_recovery = functional / static_cast<double>(H);
    }
  }
  wait_for_attack(groups);
  MPI_Bcast(&pooled_result, sizeof(PooledResult), MPI_BYTE, 0, world);
  for (std::size_t l = 0; l < L; ++l) {
    search::share_from_leader(outcomes[l], world);
    share_vector(truth[l], MPI_INT32_T, world);
    share_vector(true_layer[l], MPI_INT32_T, world);
  }

  io::OutputFile file(setup.path, world,
                      {"attack", setup.config_text, a.seed, setup.service_ranks, groups.attack_ranks},
                      io::Existing::add_run);
  std::string cut_layers;
  for (const auto& t : targets) cut_layers += (cut_layers.empty() ? "" : ",") + t.layer;
  const auto& r = pooled_result;
  for (std::size_t l = 0; l < L; ++l) {
    // No block was put in this layer, or a signal came before its search: nothing searched.
    if (outcomes[l].history.generations() == 0) continue;
    auto& outcome = outcomes[l];
    const auto layer_functional = outcome.functional_recovery;
    outcome.test_accuracy = r.test_accuracy;
    outcome.true_test_accuracy = r.true_test_accuracy;
    outcome.test_fidelity = r.test_fidelity;
    auto group = file.create_run(run_groups(setup)[l]);
    describe(group, setup, targets[l], static_cast<std::int64_t>(truth[l].size()), outcome);
    group.set_attr("functional_recovery", layer_functional);
    group.set_attr("cut_layers", cut_layers);
    group.set_attr("layer_rounds", a.layer_rounds);
    group.set_attr("held_in_layer", static_cast<std::int64_t>(held[l].size()));
    group.set_attr("layer_recovery", r.layer_recovery);
    group.set_attr("layer_recovery_chance", r.chance);
    // Where the blocks' layers came from: their weights, or the eavesdropper's groups.
    group.set_attr("layers_from", setup.stream_groups ? setup.stream_groups->file + ":" + setup.stream_groups->run
                                                      : std::string("weights"));
    group.set_attr("pooled_position_recovery", r.position_recovery);
    group.set_attr("pooled_functional_recovery", r.functional_recovery);
    group.set_attr("pooled_aligned_recovery", r.aligned_recovery);
    group.set_attr("pooled_seconds", r.seconds);
    search::write_history(outcome.history, group);
    group.create_dataset<std::int32_t>("truth", {truth[l].size()}).write(truth[l].data());
    group.create_dataset<std::int32_t>("true_layer", {true_layer[l].size()}).write(true_layer[l].data());
  }
  write_cut_once(targets, file.root(), world);
  file.commit();
  log::info("attack: knowledge none: layer recovery ", r.layer_recovery, " (chance ", r.chance,
            "), position recovery over all pooled blocks ", r.position_recovery, " (functional ",
            r.functional_recovery, "; with the hidden units between cut layers relabelled ", r.aligned_recovery,
            "), ", r.seconds, " s in all; wrote '", setup.path, "'");
  log::info("attack: test accuracy of the assembled model ", r.test_accuracy, ", with every held block at its true ",
            "layer and position ", r.true_test_accuracy, " (the victim: ", setup.model.info.test_accuracy,
            "; the other blocks dropped); fidelity to the victim's answers ", r.test_fidelity);
  free_groups(groups);
  return 0;
}

}  // namespace tessera::attack
