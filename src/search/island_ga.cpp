// The island GA: every attack rank evolves its own population (elitism, tournament
// selection, crossover, mutation) and every `migration_every` generations sends its
// best individuals to the next rank of a ring, where they replace the worst.
#include <algorithm>
#include <numeric>
#include <string>
#include <unordered_map>

#include "search/methods.hpp"
#include "core/ranks.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::search {

namespace {

class IslandGa final : public Search {
 public:
  IslandGa(Fitness& fitness, const GaSettings& settings, std::uint64_t seed, MPI_Comm attack,
           search::Genome start)
      : fitness_(fitness), settings_(settings), seed_(seed), attack_(attack), island_(rank_of(attack)),
        start_(std::move(start)) {}

  // Random members; or, from a placement, that placement and its neighbours (each
  // one random swap away from it), so the first generation already holds its answer.
  void start() override {
    auto rng = generation_rng(0);
    members_.clear();
    const auto h = static_cast<std::int32_t>(fitness_.held());
    for (std::int64_t i = 0; i < settings_.population; ++i) {
      if (start_.empty()) {
        members_.push_back(search::random_genome(static_cast<std::int32_t>(fitness_.positions()), rng));
      } else {
        members_.push_back(start_);
        if (i > 0) search::swap_mutation(members_.back(), h, rng);
      }
    }
    evaluation_ = fitness_.evaluate(members_);
    scored_ += settings_.population;
  }

  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    members_ = std::move(members);
    evaluation_ = std::move(evaluation);
  }

  void advance(std::int64_t generation, std::int64_t) override {
    auto rng = generation_rng(generation);
    const auto& fit = evaluation_.fitness;
    std::vector<search::Genome> next;
    for (auto e : search::elite_indices(fit, static_cast<std::size_t>(settings_.elitism))) next.push_back(members_[e]);
    const auto h = static_cast<std::int32_t>(fitness_.held());
    while (static_cast<std::int64_t>(next.size()) < settings_.population) {
      const auto& a = members_[search::tournament(fit, settings_.tournament, rng)];
      auto child = a;
      if (search::uniform_unit(rng) < settings_.crossover) {
        const auto& b = members_[search::tournament(fit, settings_.tournament, rng)];
        child = settings_.crossover_kind == "pmx" ? search::pmx_crossover(a, b, rng) : search::order_crossover(a, b, rng);
      }
      if (search::uniform_unit(rng) < settings_.mutation) {
        if (settings_.mutation_kind == "insert") search::insert_mutation(child, rng);
        else if (settings_.mutation_kind == "scramble") search::scramble_mutation(child, rng);
        else search::swap_mutation(child, h, rng);
      }
      next.push_back(std::move(child));
    }
    // Only new placements need evaluating: the elites keep their scores, and so does
    // a child that places the held blocks as a member of this generation does (in a
    // converged population most children are copies). Which children are evaluated
    // depends only on the members, so a resumed run makes the same choices.
    const auto elites = static_cast<std::size_t>(settings_.elitism);
    Scores kept;
    for (auto e : search::elite_indices(fit, elites)) {
      kept.fitness.push_back(evaluation_.fitness[e]);
      kept.accuracy.push_back(evaluation_.accuracy[e]);
    }
    std::unordered_map<std::string, std::size_t> member_with;
    for (std::size_t m = 0; m < members_.size(); ++m) member_with.emplace(placement_key(members_[m]), m);
    std::unordered_map<std::string, std::size_t> child_with;  // -> index in `unknown`
    std::vector<search::Genome> unknown;
    std::vector<std::pair<bool, std::size_t>> source;  // (known member?, index)
    for (auto c = next.begin() + elites; c != next.end(); ++c) {
      auto key = placement_key(*c);
      if (auto m = member_with.find(key); m != member_with.end()) {
        source.emplace_back(true, m->second);
      } else {
        auto [it, added] = child_with.emplace(std::move(key), unknown.size());
        if (added) unknown.push_back(*c);
        source.emplace_back(false, it->second);
      }
    }
    const auto scored = unknown.empty() ? Scores{} : fitness_.evaluate(unknown);
    for (const auto& [known, i] : source) {
      kept.fitness.push_back(known ? evaluation_.fitness[i] : scored.fitness[i]);
      kept.accuracy.push_back(known ? evaluation_.accuracy[i] : scored.accuracy[i]);
    }
    scored_ += static_cast<std::int64_t>(source.size());
    members_ = std::move(next);
    evaluation_ = std::move(kept);
    if (settings_.migration_every > 0 && generation % settings_.migration_every == 0) migrate();
  }

 private:
  // The held blocks' positions: all that a genome's fitness depends on.
  std::string placement_key(const search::Genome& genome) const {
    return std::string(reinterpret_cast<const char*>(genome.data()), fitness_.held() * sizeof(genome[0]));
  }

  std::mt19937_64 generation_rng(std::int64_t generation) const {
    return make_rng(seed_, "ga-island-" + std::to_string(island_), static_cast<std::uint64_t>(generation));
  }

  // Ring migration: the best `migrants` go to island + 1 and replace the receiver's
  // worst (ties by the higher index). Their scores travel with them.
  void migrate() {
    const int islands = size_of(attack_);
    if (islands < 2 || settings_.migrants == 0) return;
    const auto n = static_cast<int>(fitness_.positions());
    const auto m = static_cast<std::size_t>(settings_.migrants);
    std::vector<std::int32_t> genes_out;
    std::vector<double> scores_out;
    for (auto e : search::elite_indices(evaluation_.fitness, m)) {
      genes_out.insert(genes_out.end(), members_[e].begin(), members_[e].end());
      scores_out.push_back(evaluation_.fitness[e]);
      scores_out.push_back(evaluation_.accuracy[e]);
    }
    std::vector<std::int32_t> genes_in(genes_out.size());
    std::vector<double> scores_in(scores_out.size());
    const int next = (island_ + 1) % islands, previous = (island_ + islands - 1) % islands;
    MPI_Sendrecv(genes_out.data(), static_cast<int>(genes_out.size()), MPI_INT32_T, next, 0, genes_in.data(),
                 static_cast<int>(genes_in.size()), MPI_INT32_T, previous, 0, attack_, MPI_STATUS_IGNORE);
    MPI_Sendrecv(scores_out.data(), static_cast<int>(scores_out.size()), MPI_DOUBLE, next, 1, scores_in.data(),
                 static_cast<int>(scores_in.size()), MPI_DOUBLE, previous, 1, attack_, MPI_STATUS_IGNORE);
    std::vector<std::size_t> order(members_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return evaluation_.fitness[a] < evaluation_.fitness[b]; });
    for (std::size_t j = 0; j < m; ++j) {
      const auto worst = order[j];
      members_[worst].assign(genes_in.begin() + j * n, genes_in.begin() + (j + 1) * n);
      evaluation_.fitness[worst] = scores_in[2 * j];
      evaluation_.accuracy[worst] = scores_in[2 * j + 1];
    }
  }

  Fitness& fitness_;
  GaSettings settings_;
  std::uint64_t seed_;
  MPI_Comm attack_;
  int island_;
  search::Genome start_;
};

}  // namespace

void check(const GaSettings& s) {
  TESSERA_REQUIRE(s.population >= 2, "--ga.population: must be >= 2 per island, got ", s.population);
  TESSERA_REQUIRE(s.crossover >= 0 && s.crossover <= 1, "--ga.crossover: a probability, got ", s.crossover);
  TESSERA_REQUIRE(s.mutation >= 0 && s.mutation <= 1, "--ga.mutation: a probability, got ", s.mutation);
  TESSERA_REQUIRE(s.tournament >= 1 && s.tournament <= s.population,
                  "--ga.tournament: must be in [1, --ga.population = ", s.population, "], got ", s.tournament);
  TESSERA_REQUIRE(s.elitism >= 0 && s.elitism < s.population, "--ga.elitism: must be in [0, population), got ",
                  s.elitism);
  TESSERA_REQUIRE(s.crossover_kind == "ox" || s.crossover_kind == "pmx", "--ga.crossover_kind: ox or pmx, got '",
                  s.crossover_kind, "'");
  TESSERA_REQUIRE(s.mutation_kind == "swap" || s.mutation_kind == "insert" || s.mutation_kind == "scramble",
                  "--ga.mutation_kind: swap, insert or scramble, got '", s.mutation_kind, "'");
  TESSERA_REQUIRE(s.migration_every >= 0, "--ga.migration_every: must be >= 0, got ", s.migration_every);
  TESSERA_REQUIRE(s.migrants >= 0 && s.migrants <= s.population - s.elitism,
                  "--ga.migrants: must be in [0, population - elitism], got ", s.migrants);
}

std::unique_ptr<Search> make_ga(Fitness& fitness, const GaSettings& s, std::uint64_t seed, MPI_Comm attack,
                                search::Genome start) {
  check(s);
  return std::make_unique<IslandGa>(fitness, s, seed, attack, std::move(start));
}

namespace {

void read_ga(const Config& c, MethodSettings& settings) {
  auto& s = settings.ga;
  s.population = c.get<std::int64_t>("ga.population");
  s.crossover = c.get<double>("ga.crossover");
  s.mutation = c.get<double>("ga.mutation");
  s.tournament = c.get<int>("ga.tournament");
  s.elitism = c.get<std::int64_t>("ga.elitism");
  s.crossover_kind = c.get<std::string>("ga.crossover_kind");
  s.mutation_kind = c.get<std::string>("ga.mutation_kind");
  s.migration_every = c.get<std::int64_t>("ga.migration_every");
  s.migrants = c.get<std::int64_t>("ga.migrants");
}

void add_ga_options(po::options_description& options) {
  options.add_options()
    ("ga.population", po::value<std::int64_t>()->default_value(100), "individuals per island")
    ("ga.crossover", real_value(0.8), "crossover probability")
    ("ga.mutation", real_value(0.2), "mutation probability")
    ("ga.tournament", po::value<int>()->default_value(3), "tournament size")
    ("ga.elitism", po::value<std::int64_t>()->default_value(1), "best individuals kept unchanged")
    ("ga.crossover_kind", po::value<std::string>()->default_value("ox"), "ox (order) or pmx (partially mapped)")
    ("ga.mutation_kind", po::value<std::string>()->default_value("swap"), "swap, insert or scramble")
    ("ga.migration_every", po::value<std::int64_t>()->default_value(10), "generations between ring migrations")
    ("ga.migrants", po::value<std::int64_t>()->default_value(1), "best individuals sent to the next island");
}

void describe_ga(const h5::Group& group, const MethodSettings& settings) {
  const auto& s = settings.ga;
  group.set_attr("crossover_kind", s.crossover_kind);
  group.set_attr("mutation_kind", s.mutation_kind);
  group.set_attr("crossover", s.crossover);
  group.set_attr("mutation", s.mutation);
  group.set_attr("population", s.population);
  group.set_attr("elitism", s.elitism);
  group.set_attr("migration_every", s.migration_every);
  group.set_attr("migrants", s.migrants);
  group.set_attr("tournament", s.tournament);
}

}  // namespace

const SearchMethod island_ga_method{
    "ga", "island GA, one island per attack rank, ring migration",
    add_ga_options,
    read_ga,
    [](const MethodSettings& s) { check(s.ga); },
    // The population and its children.
    [](const MethodSettings& s) { return 2.0 * static_cast<double>(s.ga.population); },
    "ga.population",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) {
      return make_ga(fitness, s.ga, seed, attack);
    },
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack, const search::Genome& start) {
      return make_ga(fitness, s.ga, seed, attack, start);
    },
    false,
    describe_ga,
    false};

}  // namespace tessera::search
