// Chains of search methods (docs/DESIGN.md section 8.4): --attack.method=stats,assignment,sa
// runs weight-statistics matching, hands its placement to the linearised assignment,
// lets that descend until a step no longer helps, and starts the annealing from the
// best placement found so far. The earlier stages run inside start(), so the campaign,
// its history and its checkpoints see one search: the last stage.
#include <algorithm>
#include <chrono>
#include <tuple>

#include "search/methods.hpp"
#include "core/stop.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"

namespace tessera::search {

std::pair<search::Genome, double> best_over_parts(const Search& search, MPI_Comm attack) {
  const auto& fitness = search.evaluation().fitness;
  const auto best = std::max_element(fitness.begin(), fitness.end()) - fitness.begin();
  struct {
    double value;
    int part;
  } mine{fitness[best], rank_of(attack)}, winner{};
  MPI_Allreduce(&mine, &winner, 1, MPI_DOUBLE_INT, MPI_MAXLOC, attack);
  auto genome = search.members()[best];
  MPI_Bcast(genome.data(), static_cast<int>(genome.size()), MPI_INT32_T, winner.part, attack);
  return {genome, winner.value};
}

namespace {

// A stage that has not come to rest after this many steps hands over what it has.
constexpr std::int64_t kMaxSettleSteps = 1000;

bool settled_everywhere(const Search& search, MPI_Comm attack) {
  int settled = search.settled() ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &settled, 1, MPI_INT, MPI_MIN, attack);
  return settled != 0;
}

class MethodChain final : public Search {
 public:
  MethodChain(std::vector<const SearchMethod*> chain, Fitness& fitness, const MethodSettings& settings,
              std::uint64_t seed, MPI_Comm attack)
      : chain_(std::move(chain)), fitness_(fitness), settings_(settings), seed_(seed), attack_(attack) {}

  // A stage runs until it has come to rest, for at most kMaxSettleSteps steps, and
  // takes no step once the run's time budget is spent (counted from here; a later
  // stage still starts, and the campaign stops after generation 0).
  void start() override {
    const auto started = std::chrono::steady_clock::now();
    search::Genome placement;
    for (std::size_t i = 0; i + 1 < chain_.size(); ++i) {
      auto stage = make_stage(i, placement);
      stage->start();
      std::int64_t steps = 0;
      bool settled = false, late = false;
      while (!(settled = settled_everywhere(*stage, attack_)) && steps < kMaxSettleSteps &&
             !(late = stop::budget_spent(started, settings_.time_budget_s, attack_)))
        stage->advance(++steps, kMaxSettleSteps);
      earlier_scored_ += stage->scored();
      if (!reference_.defined()) reference_ = stage->reference();
      double fitness = 0;
      std::tie(placement, fitness) = best_over_parts(*stage, attack_);
      log::info("attack: chain stage ", i + 1, " (", chain_[i]->name, ") ",
                settled ? "came to rest" : late ? "stopped unsettled by the time budget" : "stopped unsettled",
                " after ", steps, " step(s) at fitness ", fitness, "; ", chain_[i + 1]->name,
                " starts from its best placement");
    }
    last_ = make_stage(chain_.size() - 1, placement);
    last_->start();
    mirror();
  }

  void advance(std::int64_t generation, std::int64_t generations) override {
    last_->advance(generation, generations);
    mirror();
  }

  bool finished() const override { return last_->finished(); }
  bool settled() const override { return last_->settled(); }
  // The first stage's template that has one (none after a resume: the stages before
  // the last are not run again).
  torch::Tensor reference() const override { return reference_.defined() ? reference_ : last_->reference(); }

  // The checkpoint holds the last stage's members: the earlier stages are done.
  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    last_ = make_stage(chain_.size() - 1, members.front());
    last_->restore(std::move(members), std::move(evaluation));
    mirror();
  }
  std::vector<double> save_state() const override { return last_->save_state(); }
  void load_state(const std::vector<double>& state) override { last_->load_state(state); }

 private:
  // Stage 0 draws from the run's seed, as the method alone would; later ones from their own.
  std::unique_ptr<Search> make_stage(std::size_t i, const search::Genome& placement) const {
    if (i == 0) return chain_[0]->make(fitness_, settings_, seed_, attack_);
    return chain_[i]->make_from(fitness_, settings_, derive_seed(seed_, "chain-stage", i), attack_, placement);
  }

  void mirror() {
    members_ = last_->members();
    evaluation_ = last_->evaluation();
    scored_ = earlier_scored_ + last_->scored();
  }

  std::vector<const SearchMethod*> chain_;
  Fitness& fitness_;
  MethodSettings settings_;
  std::uint64_t seed_;
  MPI_Comm attack_;
  std::unique_ptr<Search> last_;
  std::int64_t earlier_scored_ = 0;
  torch::Tensor reference_;
};

}  // namespace

std::vector<const SearchMethod*> search_chain(const std::string& text) {
  const auto names = split_list(text, "--attack.method");
  TESSERA_REQUIRE(!names.empty(), "--attack.method: give a method or a chain of them (known: ", search_method_names(),
                  ")");
  std::vector<const SearchMethod*> chain;
  for (const auto& name : names) chain.push_back(&search_method(name));
  for (std::size_t i = 0; i < chain.size(); ++i) {
    TESSERA_REQUIRE(i == 0 || chain[i]->make_from, "--attack.method=", text, ": ", chain[i]->name,
                    " cannot start from another method's placement (its answer comes from the data alone); "
                    "put it first");
    TESSERA_REQUIRE(i + 1 == chain.size() || chain[i]->settles, "--attack.method=", text, ": ", chain[i]->name,
                    " never comes to rest on one placement, so nothing can follow it; put it last");
  }
  return chain;
}

void check_chain(const std::vector<const SearchMethod*>& chain, const MethodSettings& settings) {
  for (const auto* method : chain) method->check(settings);
}

const SearchMethod& largest_stage(const std::vector<const SearchMethod*>& chain, const MethodSettings& settings) {
  return **std::max_element(chain.begin(), chain.end(), [&](const SearchMethod* a, const SearchMethod* b) {
    return a->genomes_per_part(settings) < b->genomes_per_part(settings);
  });
}

std::unique_ptr<Search> make_search(const std::vector<const SearchMethod*>& chain, Fitness& fitness,
                                    const MethodSettings& settings, std::uint64_t seed, MPI_Comm attack) {
  if (chain.size() == 1) return chain.front()->make(fitness, settings, seed, attack);
  return std::make_unique<MethodChain>(chain, fitness, settings, seed, attack);
}

}  // namespace tessera::search
