// The adversary that knows its blocks' layer (one cut layer): the service ranks hand
// over the compromised devices' blocks (the hijack); the attack ranks run the chosen
// search method (or chain of methods) on the tile-cached fitness, the leader assesses
// the best placement against the truth, and the run is written as /attack/<run> (or,
// stopped by a signal, as a checkpoint to continue from).
#include <cmath>
#include <filesystem>

#include "attack/assessment.hpp"
#include "attack/pipeline.hpp"
#include "blocks/grid.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "io/output_file.hpp"
#include "models/registry.hpp"

namespace tessera::attack {

int run_known_layer(AttackSetup& setup, MPI_Comm world) {
  const auto& a = setup.settings;
  auto& groups = setup.groups;
  const auto& target = setup.targets.front();
  const auto held = held_of(setup, target, world);
  const auto checkpoint_path = io::checkpoint_path(setup.path);
  std::unique_ptr<search::Checkpoint> resume;
  // A fresh run would replace a stopped run's checkpoint, and with it the work done.
  const bool stopped_run = agree(world, [&] { return std::filesystem::exists(checkpoint_path); });
  if (stopped_run && !a.resume)
    agree_on_message(world, "'" + checkpoint_path + "' holds a stopped attack run: continue it with "
                            "--run.resume=true, or remove the file to start again");
  if (a.resume && !stopped_run)  // as a sweep does: a requeued job's first run has none yet
    log::info("attack: no checkpoint '", checkpoint_path, "' yet; starting from the first generation");
  if (a.resume && stopped_run) {
    resume = std::make_unique<search::Checkpoint>(search::read_checkpoint(checkpoint_path, world));
    agree(world, [&] {
      TESSERA_REQUIRE(resume->fingerprint == setup.fingerprint, "--run.resume: '", checkpoint_path,
                      "' was written with other settings: ", first_difference(setup.fingerprint, resume->fingerprint));
      TESSERA_REQUIRE(resume->history.positions == target.grid.count() &&
                          resume->history.held == static_cast<std::int64_t>(held.size()),
                      "--run.resume: '", checkpoint_path, "' places ", resume->history.held, " blocks on ",
                      resume->history.positions, " positions, this run ", held.size(), " on ", target.grid.count());
    });
  }
  auto layer = models::split_at(*setup.model.network, target.layer);
  const auto answers = service_answers(setup, world);
  auto loot = hijack(groups, target, layer.weight, held, answers, a.eval_images, a.seed);

  search::Outcome outcome;
  if (groups.attacker) {
    const auto victim_weight = layer.weight;  // for the assessment after the search, as the truth
    layer.weight = torch::Tensor();           // the search never sees the target weight
    auto campaign = campaign_settings(a, checkpoint_path);
    campaign.fingerprint = setup.fingerprint;
    auto result = search_layer(setup,
                               knowledge_of(setup, target.grid, layer, loot.held, loot.victim_predictions,
                                            target.layer + ".weight", {}),
                               loot.truth, campaign, resume.get());
    outcome = std::move(result.outcome);
    if (rank_of(groups.group) == 0 && !outcome.checkpointed) {
      torch::NoGradGuard no_grad;
      const auto assessed = assess(*result.fitness, outcome.best, loot.truth, layer.features(setup.test.images),
                                    setup.test.labels, victim_weight);
      outcome.functional_recovery = assessed.functional_recovery;
      outcome.test_accuracy = assessed.test_accuracy;
      outcome.true_test_accuracy = assessed.true_test_accuracy;
      outcome.test_fidelity = assessed.test_fidelity;
      if (result.reference.defined() && setup.model.info.init_seed >= 0) {
        const auto initial = blocks::as_matrix(
            models::build(setup.model.info.arch, static_cast<std::uint64_t>(setup.model.info.init_seed))
                ->named_parameters()[target.layer + ".weight"]);
        const auto q = assess_template(*result.fitness, result.reference, loot.truth, victim_weight, initial);
        outcome.template_correlation = q.correlation;
        outcome.template_ceiling = q.ceiling;
      }
    }
  }
  wait_for_attack(groups);
  search::share_from_leader(outcome, world);
  if (outcome.checkpointed) {
    log::info("attack: stopped by ", outcome.stop_reason, " at generation ", outcome.history.generations() - 1,
              "; checkpoint '", checkpoint_path, "' written; continue with --run.resume=true");
    free_groups(groups);
    return 0;
  }

  io::OutputFile file(setup.path, world,
                      {"attack", setup.config_text, a.seed, setup.service_ranks, groups.attack_ranks},
                      io::Existing::add_run);
  auto group = file.create_run(run_groups(setup).front());
  describe(group, setup, target, static_cast<std::int64_t>(held.size()), outcome);
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
  free_groups(groups);
  return 0;
}

}  // namespace tessera::attack
