// Simulated annealing (hill climbing at temperature 0), one chain per attack rank:
// swap moves, each scored incrementally (only the two row slices a move touches, and
// their products through the next Linear, are made anew: scoring::SwapChain), accepted by
// the Metropolis rule at a temperature that falls geometrically from t_start to t_end
// over the run.
#include <cmath>

#include "search/methods.hpp"
#include "core/ranks.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "scoring/swap_chain.hpp"

namespace tessera::search {

namespace {

class Annealing final : public Search {
 public:
  Annealing(Fitness& fitness, const SaSettings& settings, std::uint64_t seed, MPI_Comm attack,
            search::Genome start)
      : fitness_(fitness), settings_(settings), seed_(seed), chain_index_(rank_of(attack)), start_(std::move(start)) {}

  // From a random placement, or from the one given.
  void start() override {
    auto rng = generation_rng(0);
    members_ = {start_.empty() ? search::random_genome(static_cast<std::int32_t>(fitness_.positions()), rng) : start_};
    rebuild();
    scored_ += 1;
  }

  // The recorded scores are those rebuild() computes at the end of every generation.
  void restore(std::vector<search::Genome> members, Scores) override {
    members_ = std::move(members);
    rebuild();
  }

  void advance(std::int64_t generation, std::int64_t generations) override {
    auto rng = generation_rng(generation);
    const double progress = generations > 1 ? static_cast<double>(generation - 1) / (generations - 1) : 0.0;
    const double temperature =
        settings_.t_start > 0 ? settings_.t_start * std::pow(settings_.t_end / settings_.t_start, progress) : 0.0;
    const auto n = static_cast<std::int32_t>(fitness_.positions()), h = static_cast<std::int32_t>(fitness_.held());
    for (std::int64_t m = 0; m < settings_.moves; ++m) {
      const auto move = search::random_swap_move(n, h, rng);
      const double delta = chain_.try_swap(move).fitness[0] - chain_.evaluation().fitness[0];
      const double u = search::uniform_unit(rng);  // drawn every move, so the stream does not depend on outcomes
      if (delta >= 0 || (temperature > 0 && u < std::exp(delta / temperature))) chain_.accept();
    }
    members_[0] = chain_.genome();
    rebuild();
    scored_ += settings_.moves + 1;  // the moves, and the rebuilt current state
  }

 private:
  // The chain from the tiles, once per generation, so that round-off from in-place
  // updates (where moves are not scored by products) cannot accumulate over a long run.
  void rebuild() {
    chain_ = scoring::SwapChain(fitness_, members_[0]);
    evaluation_ = chain_.evaluation();
  }

  std::mt19937_64 generation_rng(std::int64_t generation) const {
    return make_rng(seed_, "sa-chain-" + std::to_string(chain_index_), static_cast<std::uint64_t>(generation));
  }

  Fitness& fitness_;
  SaSettings settings_;
  std::uint64_t seed_;
  int chain_index_;
  search::Genome start_;
  scoring::SwapChain chain_;
};

}  // namespace

void check(const SaSettings& s) {
  TESSERA_REQUIRE(s.moves >= 1, "--sa.moves: must be >= 1, got ", s.moves);
  TESSERA_REQUIRE(s.t_start >= 0 && s.t_end >= 0, "--sa.t_start, --sa.t_end: must be >= 0");
  TESSERA_REQUIRE(std::isfinite(s.t_start), "--sa.t_start: must be finite, got ", s.t_start);
  TESSERA_REQUIRE(s.t_start == 0 || s.t_end > 0, "--sa.t_end: must be > 0 when --sa.t_start is > 0");
  TESSERA_REQUIRE(s.t_end <= s.t_start || s.t_start == 0, "--sa.t_end: ", s.t_end,
                  " is above --sa.t_start = ", s.t_start, " (the temperature falls from t_start to t_end)");
}

std::unique_ptr<Search> make_annealing(Fitness& fitness, const SaSettings& s, std::uint64_t seed,
                                       MPI_Comm attack, search::Genome start) {
  check(s);
  return std::make_unique<Annealing>(fitness, s, seed, attack, std::move(start));
}

namespace {

void read_sa(const Config& c, MethodSettings& settings) {
  settings.sa = {c.get<std::int64_t>("sa.moves"), c.get<double>("sa.t_start"), c.get<double>("sa.t_end")};
}

void add_sa_options(po::options_description& options) {
  options.add_options()
    ("sa.moves", po::value<std::int64_t>()->default_value(100), "swap moves per generation")
    ("sa.t_start", real_value(1e-3), "initial temperature (0 = hill climbing)")
    ("sa.t_end", real_value(1e-5), "final temperature");
}

void describe_sa(const h5::Group& group, const MethodSettings& settings) {
  group.set_attr("t_start", settings.sa.t_start);
  group.set_attr("t_end", settings.sa.t_end);
  group.set_attr("moves", settings.sa.moves);
}

}  // namespace

const SearchMethod annealing_method{
    "sa", "simulated annealing, one chain of swap moves per attack rank",
    add_sa_options,
    read_sa,
    [](const MethodSettings& s) { check(s.sa); },
    [](const MethodSettings&) { return 2.0; },  // the chain and the move tried
    "",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) {
      return make_annealing(fitness, s.sa, seed, attack);
    },
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack, const search::Genome& start) {
      return make_annealing(fitness, s.sa, seed, attack, start);
    },
    false,
    describe_sa,
    false};

}  // namespace tessera::search
