// The seed's agent (paper section IV: the pirate is the agent, the model's evaluation
// the environment, an exchange of block positions the action, the fitness the
// reward), as a policy-gradient agent: REINFORCE with a greedy-rollout baseline
// (Kool et al., ICLR 2019; docs/DESIGN.md section 8.6).
//
// State: the current placement, seen through what the adversary can compute: the
// linearised change of its loss from every swap (8.1's costs S around the episode's
// start, combined with the current placement). Action: a swap, factorised: a held
// block k (a scorer applied to every block's features), then a position p for it (a
// scorer applied to every position's features for k). Reward: the fitness gained.
// Every generation each attack rank runs --rl.rollouts sampled episodes of
// --rl.horizon swaps and one greedy episode from the best placement so far; the
// advantage of a sampled episode is its gain minus the greedy one's. The policy
// gradients are summed over the attack ranks (on the leader, then sent to all), so the
// policy, identical on every rank, takes one Adam step per generation. The best placement any episode visited,
// over every rank, is where the next generation's episodes start.
//
// Members: {the best placement so far (the same on every rank), this rank's best of
// the generation}. The policy's parameters and Adam's moments go into checkpoints.
#include <cmath>
#include <limits>

#include "search/learned_state.hpp"
#include "search/methods.hpp"
#include "core/error.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"
#include "scoring/swap_chain.hpp"

namespace tessera::search {

namespace {

constexpr std::int64_t kFeatures = 2;  // per block and per position

// The policy's two scorers, Linear(kFeatures, hidden) -> ReLU -> Linear(hidden, 1),
// applied to every element of `features` (..., kFeatures). Their weights are views into
// one flat parameter vector, so Adam and the checkpoint see one tensor.
std::int64_t scorer_size(std::int64_t hidden) { return kFeatures * hidden + 2 * hidden + 1; }

torch::Tensor scores(const torch::Tensor& parameters, int scorer, std::int64_t hidden, const torch::Tensor& features) {
  std::int64_t at = scorer * scorer_size(hidden);
  auto take = [&](std::int64_t count) {
    auto view = parameters.narrow(0, at, count);
    at += count;
    return view;
  };
  const auto w1 = take(kFeatures * hidden).view({kFeatures, hidden});
  const auto b1 = take(hidden);
  const auto w2 = take(hidden).view({hidden, 1});
  const auto b2 = take(1);
  return (torch::relu(torch::matmul(features, w1) + b1).matmul(w2) + b2).squeeze(-1);
}
constexpr int kBlockScorer = 0, kPositionScorer = 1;

// An index drawn from softmax(logits), or the largest when not sampling.
std::int64_t choose(const torch::Tensor& logits, bool sample, std::mt19937_64& rng) {
  const auto p = torch::softmax(logits.to(torch::kDouble), 0).contiguous();
  const auto* probability = p.data_ptr<double>();
  const auto n = p.numel();
  if (!sample) return logits.argmax().item<std::int64_t>();
  double u = search::uniform_unit(rng), sum = 0;
  std::int64_t last = 0;  // the last index with a non-zero probability (round-off can leave sum <= u)
  for (std::int64_t i = 0; i < n; ++i) {
    if (probability[i] > 0) last = i;
    if ((sum += probability[i]) > u) return i;
  }
  return last;
}

struct Episode {
  std::vector<torch::Tensor> block_features, position_features;  // per step: (H, F), (N, F)
  std::vector<torch::Tensor> position_masks;                      // per step: (N) the block's own position
  std::vector<std::int64_t> blocks, positions;                    // the actions
  double gain = 0;                                                // fitness at the end minus at the start
  search::Genome best;                                            // the best placement visited after the start
  double best_fitness = -std::numeric_limits<double>::infinity();
};

class Reinforce final : public Search {
 public:
  Reinforce(Fitness& fitness, const RlSettings& settings, std::uint64_t seed, MPI_Comm attack,
            search::Genome start)
      : fitness_(fitness), settings_(settings), seed_(seed), attack_(attack), part_(rank_of(attack)),
        start_(std::move(start)) {
    adam_.lr = settings_.lr;
  }

  // A random placement on each rank (or the one given), the best of them shared; the
  // policy's weights uniform in +-1/sqrt(fan in) from the run's seed (the same on every
  // rank), its biases zero.
  void start() override {
    auto rng = generation_rng(0);
    const auto placement =
        start_.empty() ? search::random_genome(static_cast<std::int32_t>(fitness_.positions()), rng) : start_;
    const auto scores = fitness_.evaluate({placement});
    scored_ += 1;
    members_ = {placement, placement};
    evaluation_ = {{scores.fitness[0], scores.fitness[0]}, {scores.accuracy[0], scores.accuracy[0]}};
    share_best();
    const auto H = settings_.hidden;
    parameters_ = torch::zeros({2 * scorer_size(H)});
    auto init = make_rng(seed_, "rl-policy");
    auto* w = parameters_.data_ptr<float>();
    for (int scorer = 0; scorer < 2; ++scorer) {
      float* first = w + scorer * scorer_size(H);
      for (std::int64_t i = 0; i < kFeatures * H; ++i)
        first[i] = static_cast<float>((2 * search::uniform_unit(init) - 1) / std::sqrt(double(kFeatures)));
      float* second = first + kFeatures * H + H;
      for (std::int64_t i = 0; i < H; ++i)
        second[i] = static_cast<float>((2 * search::uniform_unit(init) - 1) / std::sqrt(double(H)));
    }
    adam_.reset(parameters_);
  }

  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    TESSERA_ASSERT(members.size() == 2);
    members_ = std::move(members);
    evaluation_ = std::move(evaluation);
  }

  std::vector<double> save_state() const override {
    std::vector<double> state;
    save_values(state, parameters_);
    save_values(state, adam_);
    return state;
  }

  void load_state(const std::vector<double>& state) override {
    const auto size = 2 * scorer_size(settings_.hidden);
    std::size_t offset = 0;
    parameters_ = load_values(state, offset, {size});
    load_values(state, offset, adam_, {size});
    TESSERA_REQUIRE(offset == state.size(), "--run.resume: the checkpoint's rl state has ", state.size(),
                    " values, not ", offset, " for --rl.hidden=", settings_.hidden);
  }

  void advance(std::int64_t generation, std::int64_t) override {
    auto rng = generation_rng(generation);
    const auto& from = members_[kBest];
    const auto costs = fitness_.placement_costs(fitness_.loss_gradient(from)).to(torch::kFloat);
    std::vector<Episode> sampled;
    for (std::int64_t i = 0; i < settings_.rollouts; ++i) sampled.push_back(run_episode(from, costs, true, rng));
    const auto greedy = run_episode(from, costs, false, rng);
    learn(sampled, greedy.gain);
    // This rank's best of the generation, scored exactly (the chains' scores carry round-off).
    const Episode* best = &greedy;
    for (const auto& episode : sampled)
      if (episode.best_fitness > best->best_fitness) best = &episode;
    const auto scores = fitness_.evaluate({best->best});
    scored_ += 1;
    set_member(kCurrent, best->best, scores);
    share_best();
  }

 private:
  static constexpr std::size_t kBest = 0, kCurrent = 1;

  // The best member over every rank becomes every rank's best, when it improves on it.
  void share_best() {
    const auto [genome, value] = best_over_parts(*this, attack_);
    if (!(value > evaluation_.fitness[kBest])) return;
    set_member(kBest, genome, fitness_.evaluate({genome}));
    scored_ += 1;
  }

  // The linearised change of the loss from swapping held block k onto position p (its
  // occupant, if any, going to k's position): (H, N), around the episode's start.
  torch::Tensor swap_deltas(const torch::Tensor& costs, const search::Genome& genome) const {
    const auto H = fitness_.held(), N = fitness_.positions();
    std::vector<std::int64_t> positions(genome.begin(), genome.begin() + H), occupant(N, 0), held(N, 0);
    for (std::int64_t j = 0; j < H; ++j) occupant[genome[j]] = j, held[genome[j]] = 1;
    const auto pos = torch::tensor(positions, torch::kInt64);
    const auto occ = torch::tensor(occupant, torch::kInt64);
    const auto mask = torch::tensor(held, torch::kInt64).to(torch::kFloat);
    const auto current = costs.gather(1, pos.unsqueeze(1));                          // S[k][pos_k]
    const auto theirs_at_mine = costs.index_select(1, pos).t().index_select(1, occ);  // S[occ(p)][pos_k]
    const auto theirs_at_own = costs.reshape({-1}).index_select(0, occ * N + torch::arange(N));  // S[occ(p)][p]
    return costs - current + (theirs_at_mine - theirs_at_own.unsqueeze(0)) * mask.unsqueeze(0);
  }

  // `horizon` swaps from `from`, each applied (the agent exchanges positions whatever the outcome).
  Episode run_episode(const search::Genome& from, const torch::Tensor& costs, bool sample, std::mt19937_64& rng) {
    torch::NoGradGuard no_grad;
    Episode episode;
    scoring::SwapChain chain(fitness_, from);
    const double start = chain.evaluation().fitness[0];
    const auto N = fitness_.positions();
    for (std::int64_t t = 0; t < settings_.horizon; ++t) {
      auto deltas = swap_deltas(costs, chain.genome());
      deltas = deltas / (deltas.std() + 1e-12);  // scale-free features
      const auto block_features = torch::stack({std::get<0>(deltas.min(1)), deltas.mean(1)}, 1);
      const auto k = choose(scores(parameters_, kBlockScorer, settings_.hidden, block_features), sample, rng);
      std::vector<std::int64_t> held(N, 0);
      for (std::int64_t j = 0; j < fitness_.held(); ++j) held[chain.genome()[j]] = 1;
      const auto position_features =
          torch::stack({deltas[k], torch::tensor(held, torch::kInt64).to(torch::kFloat)}, 1);
      auto own = torch::zeros({N}, torch::kBool);
      own[chain.genome()[k]] = true;
      const auto logits =
          scores(parameters_, kPositionScorer, settings_.hidden, position_features).masked_fill(own, -1e9);
      const auto p = choose(logits, sample, rng);
      std::int32_t j = 0;
      while (chain.genome()[j] != p) ++j;
      chain.try_swap({static_cast<std::int32_t>(k), j});
      chain.accept();
      scored_ += 1;
      if (chain.evaluation().fitness[0] > episode.best_fitness) {
        episode.best_fitness = chain.evaluation().fitness[0];
        episode.best = chain.genome();
      }
      episode.block_features.push_back(block_features);
      episode.position_features.push_back(position_features);
      episode.position_masks.push_back(own);
      episode.blocks.push_back(k);
      episode.positions.push_back(p);
    }
    episode.gain = chain.evaluation().fitness[0] - start;
    return episode;
  }

  // One REINFORCE step: the gradient of -sum (gain - baseline) log pi(actions), summed
  // over the attack ranks (each rank's episodes weighed by 1 / all episodes).
  void learn(const std::vector<Episode>& episodes, double baseline) {
    auto parameters = parameters_.clone().requires_grad_(true);
    torch::Tensor objective = torch::zeros({});
    {
      torch::AutoGradMode enabled(true);
      const double weight = 1.0 / static_cast<double>(settings_.rollouts * size_of(attack_));
      for (const auto& e : episodes) {
        const auto blocks = torch::tensor(e.blocks, torch::kInt64).unsqueeze(1);
        const auto positions = torch::tensor(e.positions, torch::kInt64).unsqueeze(1);
        const auto block_logp = torch::log_softmax(
            scores(parameters, kBlockScorer, settings_.hidden, torch::stack(e.block_features)), 1);
        const auto position_logp = torch::log_softmax(
            scores(parameters, kPositionScorer, settings_.hidden, torch::stack(e.position_features))
                .masked_fill(torch::stack(e.position_masks), -1e9),
            1);
        const auto log_probability = block_logp.gather(1, blocks).sum() + position_logp.gather(1, positions).sum();
        objective = objective - (e.gain - baseline) * weight * log_probability;
      }
    }
    auto gradient = torch::autograd::grad({objective}, {parameters})[0].detach().contiguous();
    // Summed on the leader and sent back, so that every rank steps with the same bits
    // (an allreduce need not give every rank the same rounding).
    const int count = static_cast<int>(gradient.numel());
    auto* values = gradient.data_ptr<float>();
    MPI_Reduce(part_ == 0 ? MPI_IN_PLACE : values, part_ == 0 ? values : nullptr, count, MPI_FLOAT, MPI_SUM, 0,
               attack_);
    MPI_Bcast(values, count, MPI_FLOAT, 0, attack_);
    adam_.step(parameters_, gradient);
  }

  std::mt19937_64 generation_rng(std::int64_t generation) const {
    return make_rng(seed_, "rl-part-" + std::to_string(part_), static_cast<std::uint64_t>(generation));
  }

  Fitness& fitness_;
  RlSettings settings_;
  std::uint64_t seed_;
  MPI_Comm attack_;
  int part_;
  search::Genome start_;
  torch::Tensor parameters_;  // both scorers, flat, float32
  Adam adam_;
};

void read_rl(const Config& c, MethodSettings& settings) {
  settings.rl = {c.get<std::int64_t>("rl.rollouts"), c.get<std::int64_t>("rl.horizon"), c.get<std::int64_t>("rl.hidden"),
          c.get<double>("rl.lr")};
}

void check_rl(const MethodSettings& settings) {
  const auto& s = settings.rl;
  TESSERA_REQUIRE(s.rollouts >= 1, "--rl.rollouts: must be >= 1, got ", s.rollouts);
  TESSERA_REQUIRE(s.horizon >= 1, "--rl.horizon: must be >= 1, got ", s.horizon);
  TESSERA_REQUIRE(s.hidden >= 1 && s.hidden <= 4096, "--rl.hidden: must be in [1, 4096], got ", s.hidden);
  TESSERA_REQUIRE(s.lr > 0 && std::isfinite(s.lr), "--rl.lr: must be positive and finite, got ", s.lr);
}

void add_rl_options(po::options_description& options) {
  options.add_options()
    ("rl.rollouts", po::value<std::int64_t>()->default_value(4), "sampled episodes per attack rank and generation")
    ("rl.horizon", po::value<std::int64_t>()->default_value(10), "swaps per episode")
    ("rl.hidden", po::value<std::int64_t>()->default_value(16), "hidden units of each of the policy's two scorers")
    ("rl.lr", real_value(0.01), "Adam's step size on the policy");
}

void describe_rl(const h5::Group& group, const MethodSettings& settings) {
  const auto& s = settings.rl;
  group.set_attr("rl_rollouts", s.rollouts);
  group.set_attr("rl_horizon", s.horizon);
  group.set_attr("rl_hidden", s.hidden);
  group.set_attr("rl_lr", s.lr);
}

std::unique_ptr<Search> make_rl(Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack,
                                const search::Genome& start) {
  return std::make_unique<Reinforce>(fitness, s.rl, seed, attack, start);
}

}  // namespace

const SearchMethod rl_method{
    "rl",
    "the seed's agent: a policy over swaps learned by REINFORCE with a greedy-rollout baseline",
    add_rl_options,
    read_rl,
    check_rl,
    [](const MethodSettings& s) { return 4.0 + static_cast<double>(s.rl.rollouts); },  // members, and a chain per episode
    "rl.rollouts",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) {
      return make_rl(fitness, s, seed, attack, {});
    },
    make_rl,
    false,
    describe_rl,
    false};

}  // namespace tessera::search
