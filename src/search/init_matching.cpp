// Initialisation matching (docs/DESIGN.md section 8.2): trained weights keep the
// imprint of their initial values. An adversary who can regenerate the victim's
// initial weights (the provider used a common seed, or the one every tessera file
// records) matches every held block to the initial block it correlates with best,
// and places it there. Each guess in --init.seeds is confirmed or rejected on the
// layers the adversary knows (their correlation with their own regenerated
// initialisation); the first confirmed guess gives the placement (a linear
// assignment of the held blocks to positions by correlation), and the search ends.
// With no guess confirmed the linearised assignment runs instead.
#include <cmath>
#include <map>

#include "search/methods.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "models/registry.hpp"

namespace tessera::search {

namespace {

struct Guess {
  std::int64_t seed = -1;      // -1: none confirmed
  double correlation = 0;      // the known layers' mean correlation with their initialisation
  torch::Tensor initial_target;  // the target layer's initial weight (out, in)
};

// The first guess whose known layers correlate with their regenerated
// initialisation by at least `threshold` (mean over the weight matrices).
Guess confirm(const Knowledge& k, const std::vector<std::int64_t>& seeds, double threshold) {
  torch::NoGradGuard no_grad;
  TESSERA_REQUIRE(!k.known_parameters.empty(), "--attack.method=init: the model has no known weight matrix to ",
                  "confirm a seed on (only the target layer)");
  for (auto seed : seeds) {
    auto network = models::build(k.arch, static_cast<std::uint64_t>(seed));
    std::map<std::string, torch::Tensor> initial;
    for (const auto& p : network->named_parameters()) initial[p.key()] = p.value();
    double sum = 0;
    for (const auto& [name, trained] : k.known_parameters) sum += correlation(trained, initial.at(name));
    const double mean = sum / static_cast<double>(k.known_parameters.size());
    log::info("attack: init seed guess ", seed, ": known layers correlate ", mean, " with their initialisation",
              mean >= threshold ? " (confirmed)" : "");
    if (mean >= threshold) return {seed, mean, initial.at(k.target_parameter).detach().clone()};
  }
  return {};
}

// Held blocks to positions by the correlation of each held block with each initial block.
search::Genome match(const Fitness& fitness, const torch::Tensor& initial) {
  const auto& k = fitness.knowledge();
  return most_correlated_placement(k.held, initial, k.grid);
}

std::vector<std::int64_t> seed_guesses(const InitSettings& s) {
  std::vector<std::int64_t> seeds;
  for (const auto& text : split_list(s.seeds, "--init.seeds")) {
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TESSERA_REQUIRE(used == text.size() && value >= 0, "--init.seeds: '", text, "' is not a seed (a whole number >= 0)");
    seeds.push_back(value);
  }
  return seeds;
}

void read_init(const Config& c, MethodSettings& settings) {
  settings.init = {c.get<std::string>("init.seeds"), c.get<double>("init.confirm")};
}

void check_init(const MethodSettings& settings) {
  TESSERA_REQUIRE(!seed_guesses(settings.init).empty(), "--init.seeds: give at least one seed to guess");
  const auto threshold = settings.init.confirm;
  TESSERA_REQUIRE(threshold > 0 && threshold <= 1, "--init.confirm: a correlation in (0, 1], got ", threshold);
  assignment_method.check(settings);  // the fallback's settings
}

void add_init_options(po::options_description& options) {
  options.add_options()
    ("init.seeds", po::value<std::string>()->default_value("0,1,42,1234"),
     "seeds guessed for the victim's initial weights, in order (tessera derives them from --run.seed, "
     "which every file records; --train.init_seed keeps them secret)")
    ("init.confirm", real_value(0.2),
     "a guess is confirmed when the known layers' mean correlation with their regenerated initialisation "
     "reaches this (a wrong seed gives about 0)");
}

}  // namespace

const SearchMethod init_matching_method{
    "init",
    "initialisation matching: guessed seeds regenerate the initial weights; held blocks go where their "
    "initial block correlates best (no seed confirmed: linearised assignment)",
    add_init_options,
    read_init,
    check_init,
    [](const MethodSettings&) { return 3.0; },  // as the linearised assignment
    "",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) -> std::unique_ptr<Search> {
      const auto guess = confirm(fitness.knowledge(), seed_guesses(s.init), s.init.confirm);
      // A confirmed guess places every held block by its initial block: that is the
      // answer (a search on the adversary's few images could only trade it for a
      // placement that fits those images better and the victim worse).
      if (guess.seed >= 0) return make_fixed_placement(fitness, match(fitness, guess.initial_target));
      log::info("attack: no init seed guess confirmed: linearised assignment instead");
      return make_linearised_assignment(fitness, s.assignment.kick, seed, attack);
    },
    nullptr,  // its answer comes from the data alone
    true,
    [](const h5::Group& group, const MethodSettings& s) {
      group.set_attr("init_seeds", s.init.seeds);
      group.set_attr("init_confirm", s.init.confirm);
    },
    false};

}  // namespace tessera::search
