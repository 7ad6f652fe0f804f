// Gumbel-Sinkhorn placement learning (Mena et al., ICLR 2018; docs/DESIGN.md section
// 8.5). Logits theta (held x positions) define a soft placement: Gumbel noise is
// added, the sum divided by a temperature, and a log-space Sinkhorn makes the
// exponent doubly stochastic -- every held block spread over the positions with
// mass 1, every position holding at most 1 (a slack row takes the mass of the
// positions that stay empty). Position p of the soft weight is the mixture
// sum_k P[k, p] B_k of the held blocks; the adversary's loss on its images at that
// weight is differentiated with LibTorch autograd, and Adam moves theta. The
// temperature falls geometrically over the steps, so the soft placement hardens
// into a permutation; every step's placement is theta rounded by a linear
// assignment, scored by the fitness engine. The search settles when its steps are
// done, so swap moves can polish its answer: --attack.method=sinkhorn,sa.
//
// Each attack rank optimises its own theta from the same start, with its own noise.
// Members: {the best rounded placement so far, the current one}. The state (theta,
// Adam's moments, the step) goes into checkpoints, so a resumed run continues bit
// for bit.
#include <cmath>

#include "search/learned_state.hpp"
#include "search/methods.hpp"
#include "core/error.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"

namespace tessera::search {

namespace {

// Log-masses below this count as e^kLogFloor: at low temperatures most masses fall far
// below float32's normal range (e^-87), and subnormal floats would slow every
// operation on them, forward and backward, down many times over. The mass this adds is
// below anything a float32 sum of the others can hold.
constexpr double kLogFloor = -75;

// Log-space Sinkhorn: rows scaled to the marginals exp(log_rows), columns to 1, in turn.
// The floor applies to normalised rows (each holds an entry above it), so it never
// flattens a whole row.
torch::Tensor log_sinkhorn(torch::Tensor log_alpha, const torch::Tensor& log_rows, std::int64_t iterations) {
  log_alpha = log_alpha - torch::logsumexp(log_alpha, 1, true);  // a shift per row changes nothing
  for (std::int64_t i = 0; i < iterations; ++i) {
    log_alpha = log_alpha.clamp_min(kLogFloor);
    log_alpha = log_alpha - torch::logsumexp(log_alpha, 1, true) + log_rows;
    log_alpha = log_alpha - torch::logsumexp(log_alpha, 0, true);
  }
  return log_alpha;
}

class GumbelSinkhorn final : public Search {
 public:
  GumbelSinkhorn(Fitness& fitness, const SinkhornSettings& settings, std::uint64_t seed, MPI_Comm attack,
                 search::Genome start)
      : fitness_(fitness), settings_(settings), seed_(seed), part_(rank_of(attack)), start_(std::move(start)) {
    adam_.lr = settings_.lr;
    const auto H = fitness_.held(), N = fitness_.positions();
    // Each held block has mass 1; the slack row (when positions stay empty) the rest.
    log_rows_ = torch::zeros({H + (N > H ? 1 : 0), 1});
    if (N > H) log_rows_[H][0] = std::log(static_cast<double>(N - H));
    log_rows_ = log_rows_.to(fitness_.device());
    held_ = fitness_.on_device().held.reshape({H, -1});
  }

  // theta from the linearised loss around the start (the empty placement when none
  // is given), one unit per standard deviation of a block's costs, or uniform (all
  // zeros); a given start is made each row's largest logit, so that the first
  // rounding reproduces it.
  void start() override {
    torch::NoGradGuard no_grad;
    const auto N = fitness_.positions();
    if (settings_.init == "uniform") {
      theta_ = torch::zeros({fitness_.held(), N});
    } else {
      const auto costs = fitness_.placement_costs(fitness_.loss_gradient(start_));
      theta_ = (-standardised_rows(costs) * std::sqrt(static_cast<double>(N))).to(torch::kFloat).contiguous();
    }
    if (!start_.empty())
      for (std::int64_t k = 0; k < fitness_.held(); ++k) theta_[k][start_[k]] = theta_[k].max() + 1;
    theta_ = theta_.to(fitness_.device());
    adam_.reset(theta_);
    const auto placement = rounded();
    const auto scores = fitness_.evaluate({placement});
    scored_ += 1;
    members_ = {placement, placement};
    evaluation_ = {{scores.fitness[0], scores.fitness[0]}, {scores.accuracy[0], scores.accuracy[0]}};
  }

  bool finished() const override { return adam_.steps >= settings_.steps; }

  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    TESSERA_ASSERT(members.size() == 2);
    members_ = std::move(members);
    evaluation_ = std::move(evaluation);
  }

  std::vector<double> save_state() const override {
    std::vector<double> state;
    save_values(state, theta_);
    save_values(state, adam_);
    return state;
  }

  void load_state(const std::vector<double>& state) override {
    const auto H = fitness_.held(), N = fitness_.positions();
    std::size_t offset = 0;
    theta_ = load_values(state, offset, {H, N}, fitness_.device());
    load_values(state, offset, adam_, {H, N}, fitness_.device());
    TESSERA_REQUIRE(offset == state.size(), "--run.resume: the checkpoint's sinkhorn state has ", state.size(),
                    " values, not ", offset, " for ", H, " x ", N);
  }

  void advance(std::int64_t, std::int64_t) override {
    if (finished()) return;
    optimisation_step();
    const auto placement = rounded();
    const auto scores = fitness_.evaluate({placement});
    scored_ += 1;
    set_member(kCurrent, placement, scores);
    if (scores.fitness[0] > evaluation_.fitness[kBest]) set_member(kBest, placement, scores);
  }

 private:
  static constexpr std::size_t kBest = 0, kCurrent = 1;

  double temperature() const {
    const double progress = settings_.steps > 1 ? static_cast<double>(adam_.steps) / (settings_.steps - 1) : 1.0;
    return settings_.tau_start * std::pow(settings_.tau_end / settings_.tau_start, progress);
  }

  // Gumbel(0, 1) noise (H, N) from this part's stream for this step.
  torch::Tensor gumbel() const {
    auto rng = make_rng(seed_, "sinkhorn-part-" + std::to_string(part_), static_cast<std::uint64_t>(adam_.steps));
    auto noise = torch::empty({fitness_.held(), fitness_.positions()});
    auto* g = noise.data_ptr<float>();
    for (std::int64_t i = 0; i < noise.numel(); ++i) {
      const double u = std::min(std::max(search::uniform_unit(rng), 1e-12), 1.0 - 1e-12);
      g[i] = static_cast<float>(-std::log(-std::log(u)));
    }
    return noise.to(fitness_.device());
  }

  // One Adam step on the adversary's loss at the soft placement. The noise shrinks
  // with the temperature, so its effect on the exponent stays the same while theta's
  // grows sharper.
  void optimisation_step() {
    const double tau = temperature();
    auto theta = theta_.clone().requires_grad_(true);
    torch::Tensor loss;
    {
      torch::AutoGradMode enabled(true);
      auto log_alpha = (theta + gumbel() * (settings_.noise * tau / settings_.tau_start)) / tau;
      if (log_rows_.size(0) > fitness_.held()) log_alpha = torch::cat({log_alpha, torch::zeros({1, log_alpha.size(1)}, log_alpha.options())});
      const auto soft = log_sinkhorn(log_alpha, log_rows_, settings_.iterations)
                            .narrow(0, 0, fitness_.held())
                            .clamp_min(kLogFloor)
                            .exp();  // (H, N)
      const auto blocks = torch::mm(soft.t(), held_).view({fitness_.positions(), fitness_.knowledge().grid.bh,
                                                            fitness_.knowledge().grid.bw});
      loss = fitness_.loss_at(fitness_.weight_from_blocks(blocks));
    }
    adam_.step(theta_, torch::autograd::grad({loss}, {theta})[0].detach());
  }

  // theta rounded to a placement: the linear assignment of largest total logit.
  search::Genome rounded() const { return least_cost_placement(-theta_.to(torch::kCPU)); }

  Fitness& fitness_;
  SinkhornSettings settings_;
  std::uint64_t seed_;
  int part_;
  search::Genome start_;
  torch::Tensor log_rows_, held_;  // (H or H+1, 1) and (H, bh*bw)
  torch::Tensor theta_;  // (H, N) float32
  Adam adam_;            // its steps count the optimisation steps
};

void read_sinkhorn(const Config& c, MethodSettings& settings) {
  settings.sinkhorn = {c.get<std::int64_t>("sinkhorn.steps"), c.get<double>("sinkhorn.tau_start"),
          c.get<double>("sinkhorn.tau_end"),     c.get<double>("sinkhorn.noise"),
          c.get<double>("sinkhorn.lr"),          c.get<std::int64_t>("sinkhorn.iterations"),
          c.get<std::string>("sinkhorn.init")};
}

void check_sinkhorn(const MethodSettings& settings) {
  const auto& s = settings.sinkhorn;
  TESSERA_REQUIRE(s.steps >= 1, "--sinkhorn.steps: must be >= 1, got ", s.steps);
  TESSERA_REQUIRE(s.iterations >= 1, "--sinkhorn.iterations: must be >= 1, got ", s.iterations);
  TESSERA_REQUIRE(s.tau_start > 0 && std::isfinite(s.tau_start), "--sinkhorn.tau_start: the temperature must be ",
                  "positive and finite, got ", s.tau_start);
  TESSERA_REQUIRE(s.tau_end > 0 && s.tau_end <= s.tau_start, "--sinkhorn.tau_end: the temperature falls from ",
                  "--sinkhorn.tau_start = ", s.tau_start, " to a positive value no larger, got ", s.tau_end);
  TESSERA_REQUIRE(s.noise >= 0 && std::isfinite(s.noise), "--sinkhorn.noise: must be >= 0 and finite, got ", s.noise);
  TESSERA_REQUIRE(s.init == "costs" || s.init == "uniform", "--sinkhorn.init: 'costs' or 'uniform', got '", s.init,
                  "'");
  TESSERA_REQUIRE(s.lr > 0 && std::isfinite(s.lr), "--sinkhorn.lr: must be positive and finite, got ", s.lr);
}

void add_sinkhorn_options(po::options_description& options) {
  options.add_options()
    ("sinkhorn.steps", po::value<std::int64_t>()->default_value(200),
     "optimisation steps (one per generation); the search settles after the last")
    ("sinkhorn.tau_start", real_value(1.0), "initial temperature of the soft placement (> 0)")
    ("sinkhorn.tau_end", real_value(0.05), "final temperature (> 0, at most tau_start); geometric in between")
    ("sinkhorn.noise", real_value(0.5), "scale of the Gumbel noise at tau_start (it falls with the temperature)")
    ("sinkhorn.lr", real_value(0.1), "Adam's step size on the placement logits")
    ("sinkhorn.iterations", po::value<std::int64_t>()->default_value(20), "Sinkhorn normalisations per step")
    ("sinkhorn.init", po::value<std::string>()->default_value("costs"),
     "the logits' start: 'costs' (the linearised assignment's costs around the start placement) or 'uniform' "
     "(zeros: the method as published, learning from nothing)");
}

void describe_sinkhorn(const h5::Group& group, const MethodSettings& settings) {
  const auto& s = settings.sinkhorn;
  group.set_attr("sinkhorn_steps", s.steps);
  group.set_attr("sinkhorn_tau_start", s.tau_start);
  group.set_attr("sinkhorn_tau_end", s.tau_end);
  group.set_attr("sinkhorn_noise", s.noise);
  group.set_attr("sinkhorn_lr", s.lr);
  group.set_attr("sinkhorn_iterations", s.iterations);
  group.set_attr("sinkhorn_init", s.init);
}

std::unique_ptr<Search> make_sinkhorn(Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack,
                                      const search::Genome& start) {
  return std::make_unique<GumbelSinkhorn>(fitness, s.sinkhorn, seed, attack, start);
}

}  // namespace

const SearchMethod sinkhorn_method{
    "sinkhorn",
    "Gumbel-Sinkhorn: a soft placement learned by gradient descent on the loss, rounded by a linear assignment",
    add_sinkhorn_options,
    read_sinkhorn,
    check_sinkhorn,
    [](const MethodSettings&) { return 3.0; },  // the best, the current and the next placement (theta is H x N floats more)
    "",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) {
      return make_sinkhorn(fitness, s, seed, attack, {});
    },
    make_sinkhorn,
    true,
    describe_sinkhorn,
    false};

}  // namespace tessera::search
