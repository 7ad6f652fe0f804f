#include "search/campaign.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <numeric>

#include "search/checkpoint.hpp"
#include "core/ranks.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/stop.hpp"

namespace tessera::search {

namespace {

using Clock = std::chrono::steady_clock;

// Every part's members, fitness and accuracy, gathered on the leader.
struct Gathered {
  std::vector<double> fitness, accuracy;
  std::vector<std::int32_t> genomes;  // population x positions
};

Gathered gather(const Search& search, MPI_Comm attack, std::int64_t positions) {
  const auto& members = search.members();
  const int parts = size_of(attack);
  const int count = static_cast<int>(members.size());
  std::vector<int> counts(parts);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, attack);
  std::vector<int> offsets(parts, 0);
  std::partial_sum(counts.begin(), counts.end() - 1, offsets.begin() + 1);
  const int total = std::accumulate(counts.begin(), counts.end(), 0);
  const bool leader = rank_of(attack) == 0;
  Gathered all;
  if (leader) {
    all.fitness.resize(total);
    all.accuracy.resize(total);
    all.genomes.resize(static_cast<std::size_t>(total) * positions);
  }
  MPI_Gatherv(search.evaluation().fitness.data(), count, MPI_DOUBLE, all.fitness.data(), counts.data(),
              offsets.data(), MPI_DOUBLE, 0, attack);
  MPI_Gatherv(search.evaluation().accuracy.data(), count, MPI_DOUBLE, all.accuracy.data(), counts.data(),
              offsets.data(), MPI_DOUBLE, 0, attack);
  std::vector<std::int32_t> mine;
  for (const auto& m : members) mine.insert(mine.end(), m.begin(), m.end());
  std::vector<int> gene_counts(parts), gene_offsets(parts);
  for (int p = 0; p < parts; ++p) {
    gene_counts[p] = counts[p] * static_cast<int>(positions);
    gene_offsets[p] = offsets[p] * static_cast<int>(positions);
  }
  MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_INT32_T, all.genomes.data(), gene_counts.data(),
              gene_offsets.data(), MPI_INT32_T, 0, attack);
  return all;
}

}  // namespace

namespace {

// Hands every part its members and scores from a checkpoint (read on every rank).
void restore(Search& search, const Checkpoint& c, MPI_Comm attack) {
  const int part = rank_of(attack);
  TESSERA_REQUIRE(static_cast<int>(c.part_sizes.size()) == size_of(attack), "--run.resume: the checkpoint has ",
                  c.part_sizes.size(), " attack ranks, this run ", size_of(attack));
  std::int64_t first = 0;
  for (int p = 0; p < part; ++p) first += c.part_sizes[p];
  const auto N = c.history.positions;
  std::vector<search::Genome> members;
  Scores evaluation;
  for (std::int64_t i = first; i < first + c.part_sizes[part]; ++i) {
    members.emplace_back(c.members.begin() + i * N, c.members.begin() + (i + 1) * N);
    evaluation.fitness.push_back(c.fitness[i]);
    evaluation.accuracy.push_back(c.accuracy[i]);
  }
  search.restore(std::move(members), std::move(evaluation));
  std::vector<double> state;
  if (!c.state_sizes.empty()) {
    std::int64_t offset = 0;
    for (int p = 0; p < part; ++p) offset += c.state_sizes[p];
    state.assign(c.state.begin() + offset, c.state.begin() + offset + c.state_sizes[part]);
  }
  search.load_state(state);
}

// Every part's Search::save_state on the leader, one after the other, and their lengths.
std::pair<std::vector<std::int64_t>, std::vector<double>> gather_state(const Search& search, MPI_Comm attack) {
  const auto mine = search.save_state();
  const auto length = static_cast<std::int64_t>(mine.size());
  std::vector<std::int64_t> lengths(size_of(attack));
  MPI_Allgather(&length, 1, MPI_INT64_T, lengths.data(), 1, MPI_INT64_T, attack);
  const auto total = std::accumulate(lengths.begin(), lengths.end(), std::int64_t{0});
  if (total == 0) return {};
  // Every rank has every length, so all agree on this error.
  TESSERA_REQUIRE(total <= std::numeric_limits<int>::max(), "the search state of all attack ranks (", total,
                  " values) is too large for one checkpoint; use fewer attack ranks or a smaller problem");
  std::vector<int> counts(lengths.begin(), lengths.end()), offsets(lengths.size(), 0);
  std::partial_sum(counts.begin(), counts.end() - 1, offsets.begin() + 1);
  std::vector<double> all(rank_of(attack) == 0 ? total : 0);
  MPI_Gatherv(mine.data(), static_cast<int>(length), MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE,
              0, attack);
  return {lengths, all};
}

std::vector<std::int64_t> part_sizes(const Search& search, MPI_Comm attack) {
  std::int64_t mine = static_cast<std::int64_t>(search.members().size());
  std::vector<std::int64_t> sizes(size_of(attack));
  MPI_Allgather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, attack);
  return sizes;
}

}  // namespace

Outcome run_campaign(Search& search, const search::Genome& truth, std::int64_t held,
                     const CampaignSettings& settings, MPI_Comm attack, const Checkpoint* resume) {
  const auto started = Clock::now();
  const bool leader = rank_of(attack) == 0;
  Outcome outcome;
  auto& h = outcome.history;
  std::int64_t first = 0;
  double earlier_seconds = 0;  // wall time of the run before the checkpoint
  if (resume) {
    restore(search, *resume, attack);
    if (leader) h = resume->history;
    first = resume->generation + 1;
    earlier_seconds = resume->history.wall_seconds.empty() ? 0 : resume->history.wall_seconds.back();
  } else {
    search.start();
  }
  h.held = held;
  log::Progress progress("attack", std::max<std::int64_t>(0, settings.generations - first));
  if (settings.time_budget_s > 0)  // counted from this invocation's start, before generation 0
    progress.set_deadline(std::max(1e-9, settings.time_budget_s -
                                            std::chrono::duration<double>(Clock::now() - started).count()));
  const auto sizes = part_sizes(search, attack);
  auto last_checkpoint = started;
  for (std::int64_t generation = first;; ++generation) {
    if (resume || generation > 0) search.advance(generation, settings.generations);
    h.positions = static_cast<std::int64_t>(search.members().front().size());
    const auto all = gather(search, attack, h.positions);
    int stop_code = 0;  // 0: go on, 1: generations, 2: time, 3: target, 4: search finished, or a signal's number + 16
    if (leader) {
      const auto P = static_cast<std::int64_t>(all.fitness.size());
      h.population = P;
      const auto best = static_cast<std::int64_t>(
          std::max_element(all.fitness.begin(), all.fitness.end()) - all.fitness.begin());
      std::vector<search::Genome> population(P);
      for (std::int64_t i = 0; i < P; ++i)
        population[i].assign(all.genomes.begin() + i * h.positions, all.genomes.begin() + (i + 1) * h.positions);
      const auto& best_genome = population[best];
      const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
      const double seconds = earlier_seconds + elapsed;
      if (settings.history || generation == 0) h.fitness.insert(h.fitness.end(), all.fitness.begin(), all.fitness.end());
      h.best_fitness.push_back(all.fitness[best]);
      h.mean_fitness.push_back(std::accumulate(all.fitness.begin(), all.fitness.end(), 0.0) / P);
      h.best_accuracy.push_back(all.accuracy[best]);
      h.position_recovery.push_back(search::position_recovery(best_genome, static_cast<std::int32_t>(held), truth));
      h.diversity.push_back(settings.history ? search::diversity(population, static_cast<std::int32_t>(held)) : 0.0);
      h.wall_seconds.push_back(seconds);
      h.best_genome.insert(h.best_genome.end(), best_genome.begin(), best_genome.begin() + held);
      if (settings.snapshot_every > 0 && generation % settings.snapshot_every == 0) {
        h.snapshot_generations.push_back(generation);
        h.snapshots.insert(h.snapshots.end(), all.genomes.begin(), all.genomes.end());
      }
      outcome.best = best_genome;
      if (generation >= settings.generations) stop_code = 1;
      else if (settings.time_budget_s > 0 && elapsed >= settings.time_budget_s) stop_code = 2;
      else if (all.fitness[best] >= settings.target_fitness) stop_code = 3;
    }
    // Every part's search must be finished (a collective decision: parts differ).
    int finished = search.finished() ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &finished, 1, MPI_INT, MPI_MIN, attack);
    if (leader && !stop_code && finished) stop_code = 4;
    if (resume || generation > 0) progress.advance();
    if (const int signal = stop::agreed(attack); signal && !stop_code) stop_code = 16 + signal;
    // The leader's clock decides when a periodic checkpoint is due, for every rank.
    int decision[2] = {stop_code, leader && !stop_code &&
                                      std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >=
                                          settings.checkpoint_seconds};
    MPI_Bcast(decision, 2, MPI_INT, 0, attack);
    stop_code = decision[0];
    const bool signalled = stop_code >= 16;
    const bool periodic = decision[1] != 0;
    if ((signalled || periodic) && !settings.checkpoint_path.empty()) {
      auto [state_sizes, state] = gather_state(search, attack);
      if (leader)
        write_checkpoint(settings.checkpoint_path, {generation, settings.fingerprint, sizes, all.genomes, all.fitness,
                                                    all.accuracy, std::move(state_sizes), std::move(state), h});
      last_checkpoint = Clock::now();
    }
    outcome.checkpointed = signalled && !settings.checkpoint_path.empty();
    if (stop_code) {
      outcome.stop_reason = stop_code == 1   ? "generations"
                            : stop_code == 2 ? "time budget"
                            : stop_code == 3 ? "target fitness"
                            : stop_code == 4 ? "search finished"
                                             : stop::signal_name(stop_code - 16);
      break;
    }
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return outcome;
}

void share_from_leader(Outcome& outcome, MPI_Comm comm) {
  auto& h = outcome.history;
  std::int64_t sizes[3] = {h.population, h.held, h.positions};
  MPI_Bcast(sizes, 3, MPI_INT64_T, 0, comm);
  h.population = sizes[0], h.held = sizes[1], h.positions = sizes[2];
  MPI_Bcast(&outcome.seconds, 1, MPI_DOUBLE, 0, comm);
  MPI_Bcast(&outcome.evaluations, 1, MPI_INT64_T, 0, comm);
  MPI_Bcast(&outcome.computed, 1, MPI_INT64_T, 0, comm);
  MPI_Bcast(&outcome.floor_seconds, 1, MPI_DOUBLE, 0, comm);
  for (double* value :
       {&outcome.functional_recovery, &outcome.test_accuracy, &outcome.true_test_accuracy, &outcome.test_fidelity,
        &outcome.template_correlation, &outcome.template_ceiling})
    MPI_Bcast(value, 1, MPI_DOUBLE, 0, comm);
  int checkpointed = outcome.checkpointed;
  MPI_Bcast(&checkpointed, 1, MPI_INT, 0, comm);
  outcome.checkpointed = checkpointed != 0;
  std::vector<char> reason(outcome.stop_reason.begin(), outcome.stop_reason.end());
  share_vector(reason, MPI_CHAR, comm);
  outcome.stop_reason.assign(reason.begin(), reason.end());
  for (auto* series : {&h.fitness, &h.best_fitness, &h.mean_fitness, &h.best_accuracy, &h.position_recovery,
                       &h.diversity, &h.wall_seconds})
    share_vector(*series, MPI_DOUBLE, comm);
  share_vector(h.best_genome, MPI_INT32_T, comm);
  share_vector(h.snapshot_generations, MPI_INT64_T, comm);
  share_vector(h.snapshots, MPI_INT32_T, comm);
  share_vector(outcome.best, MPI_INT32_T, comm);
}

void write_history(const History& h, const h5::Group& group) {
  const auto G = static_cast<hsize_t>(h.generations());
  // Extendible along the generation axis, chunked and compressed, so a reader can
  // append or a longer run can continue the same layout.
  auto series = [&](const char* name, const std::vector<double>& values) {
    group.create_dataset<double>(name, {G}, {{std::min<hsize_t>(G, 1024)}, {h5::unlimited}, 4}).write(values.data());
  };
  series("best_fitness", h.best_fitness);
  series("mean_fitness", h.mean_fitness);
  series("best_accuracy", h.best_accuracy);
  series("position_recovery", h.position_recovery);
  series("diversity", h.diversity);
  series("wall_seconds", h.wall_seconds);
  const auto P = static_cast<hsize_t>(h.population), H = static_cast<hsize_t>(h.held);
  const auto fitness_rows = static_cast<hsize_t>(h.fitness.size()) / std::max<hsize_t>(P, 1);
  group.create_dataset<double>("fitness", {fitness_rows, P}, {{std::min<hsize_t>(fitness_rows, 64), P}, {h5::unlimited, P}, 4})
      .write(h.fitness.data());
  group.create_dataset<std::int32_t>("best_genome", {G, H}, {{std::min<hsize_t>(G, 64), H}, {h5::unlimited, H}, 4})
      .write(h.best_genome.data());
  if (!h.snapshot_generations.empty()) {
    const auto S = static_cast<hsize_t>(h.snapshot_generations.size()), N = static_cast<hsize_t>(h.positions);
    auto snapshots = group.require_group("snapshots");
    snapshots.create_dataset<std::int64_t>("generation", {S}).write(h.snapshot_generations.data());
    snapshots.create_dataset<std::int32_t>("population", {S, P, N}, {{1, P, N}, {h5::unlimited, P, N}, 4})
        .write(h.snapshots.data());
  }
}

}  // namespace tessera::search
