// The surrogate adversary (docs/DESIGN.md section 8.5). When every other layer is
// known, the cut layer's neighbours fix its coordinates: its columns face the known
// features before it, its rows feed the known layer after it. A copy of the network
// that the adversary trains itself, from its own random initialisation with every
// other parameter frozen at the victim's values, therefore learns the cut layer in
// the victim's coordinates. Its update (trained minus initial weight: the
// initialisation is noise the victim does not share) is a template of the victim's
// weight, block by block; each held block goes where it correlates best with the
// template, by one linear assignment. Several surrogates from different
// initialisations are averaged first.
//
// The adversary reads nothing of the cut layer but its held blocks, trains only on
// its public images (the training split's, never a test image) with the train.*
// recipe, and draws its initialisations from its own seed (--surrogate.init_seed gives
// one, for measuring what the victim's initialisation would add). Training runs in the
// campaign's generation 0, so the run's seconds and --attack.time_budget cover it;
// on a signal or when the budget is spent it stops, keeps what the surrogates have
// learned so far, and the campaign records the stop.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "search/methods.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"
#include "core/stop.hpp"
#include "train/trainer.hpp"

namespace tessera::search {

namespace {

using Clock = std::chrono::steady_clock;

// Steps between the ranks' checks for a signal or the end of the time budget.
constexpr std::int64_t kStepsPerCheck = 8;

void read_surrogate(const Config& c, MethodSettings& settings) {
  auto& s = settings.surrogate;
  s.recipe = train::read_training_settings(c);
  s.count = c.get<std::int64_t>("surrogate.count");
  s.init_seed = c.get<std::int64_t>("surrogate.init_seed");
}

void check_surrogate(const MethodSettings& settings) {
  const auto& s = settings.surrogate;
  train::check(s.recipe);
  TESSERA_REQUIRE(s.count >= 1, "--surrogate.count: the surrogates averaged, at least 1, got ", s.count);
  TESSERA_REQUIRE(s.init_seed >= -1, "--surrogate.init_seed: a seed >= 0, or -1 for the adversary's own; got ",
                  s.init_seed);
  TESSERA_REQUIRE(settings.knowledge == "layer", "--attack.method=surrogate: the surrogate trains ",
                  "the cut layer with every other layer known (--attack.knowledge=layer); with knowledge '",
                  settings.knowledge, "' the other cut layers are unknown around it");
}

void add_surrogate_options(po::options_description& options) {
  options.add_options()
    ("surrogate.count", po::value<std::int64_t>()->default_value(3),
     "surrogates trained from different initialisations of the adversary's own and averaged into one "
     "template (they train on the attack ranks in turn); each trains with train.* on --adversary.public images")
    ("surrogate.init_seed", po::value<std::int64_t>()->default_value(-1),
     "the seed every surrogate's initial weights are built from; -1 = the adversary's own, one per surrogate, "
     "derived from --run.seed. Giving the victim's seed (when its file records it) measures what knowing the "
     "victim's initialisation would add to the template");
}

// The network around the cut layer: the adversary's own initialisation, every known
// parameter and buffer copied in and frozen, only the target weight trainable.
std::shared_ptr<models::Network> surrogate_network(const Knowledge& k, std::uint64_t init_seed) {
  torch::NoGradGuard no_grad;
  const std::map<std::string, torch::Tensor> known(k.known_state.begin(), k.known_state.end());
  auto take = [&](const std::string& name) -> const torch::Tensor& {
    const auto it = known.find(name);
    TESSERA_REQUIRE(it != known.end(), "--attack.method=surrogate: the surrogate needs every layer but ",
                    k.target_parameter, ", and this adversary does not know ", name);
    return it->second;
  };
  auto network = models::build(k.arch, init_seed);
  for (auto& p : network->named_parameters()) {
    const bool target = p.key() == k.target_parameter;
    if (!target) p.value().copy_(take(p.key()));
    p.value().set_requires_grad(target);
  }
  for (auto& b : network->named_buffers()) b.value().copy_(take(b.key()));
  return network;
}

torch::Tensor target_weight(models::Network& network, const std::string& name) {
  return network.named_parameters()[name];
}

// The steps of a surrogate from its cut layer on, as a network of their own: trained
// on the cut layer's input features, computed once for every surrogate, instead of
// on images (the layers before it are frozen, so each step would recompute them).
// Holding the whole surrogate as a child, it switches its dropout with train()/eval().
struct Head : models::Network {
  Head(const std::shared_ptr<models::Network>& whole, const std::string& layer) {
    register_module("whole", whole);
    bool from_layer = false;
    for (const auto& step : whole->steps()) {
      from_layer = from_layer || step.name == layer;
      if (from_layer) add_step(step);
    }
    TESSERA_ASSERT(from_layer);
  }
};

// True when the steps before the cut layer act the same in training as in
// evaluation (no dropout), so that features computed once in eval mode are the ones
// training would see.
bool features_fixed(const Knowledge& k) {
  return std::none_of(k.layer.before.begin(), k.layer.before.end(), [](const auto& s) { return s.dropout > 0; });
}

// The surrogates' training and the placement from their mean update. Surrogate i
// trains on rank i mod P of `attack`, alone (its initialisation and batches drawn
// from (seed, i)), in rounds of P; the updates are summed in surrogate order, so the
// template does not depend on the number of attack ranks. A signal or the end of the
// time budget stops the training between steps: the placement is then made from what
// every surrogate learned so far (the interrupted round's too) and the search is not
// finished; its state for a checkpoint is the sum of the completed rounds, and a
// resumed run trains the interrupted round again from its start, so that it ends
// exactly where an uninterrupted run does. (As a chain's first stage it hands the
// next stage what it has: the checkpoint is the last stage's, docs/DESIGN.md 8.4.)
class SurrogateSearch final : public Search {
 public:
  SurrogateSearch(Fitness& fitness, SurrogateSettings settings, std::uint64_t seed, MPI_Comm attack, double budget_s)
      : fitness_(fitness),
        settings_(std::move(settings)),
        seed_(seed),
        attack_(attack),
        budget_s_(budget_s),
        started_(Clock::now()) {}

  void start() override {
    started_ = Clock::now();  // the campaign's clock has just started too
    train_and_place();
  }

  void advance(std::int64_t, std::int64_t) override {
    if (finished_ || stop::agreed(attack_)) return;  // a pending signal: the caller is about to stop
    train_and_place();
  }

  bool finished() const override { return finished_; }

  torch::Tensor reference() const override { return template_; }

  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    members_ = std::move(members);
    evaluation_ = std::move(evaluation);
  }

  std::vector<double> save_state() const override {
    std::vector<double> state{finished_ ? 1.0 : 0.0, static_cast<double>(rounds_done_),
                              static_cast<double>(summed_)};
    if (summed_ > 0) {
      const auto values = sum_.to(torch::kDouble).contiguous();
      state.insert(state.end(), values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
    }
    return state;
  }

  void load_state(const std::vector<double>& state) override {
    const auto& g = fitness_.knowledge().grid;
    TESSERA_REQUIRE(state.size() >= 3, "--run.resume: the checkpoint's surrogate state has ", state.size(),
                    " values, not 3 or more");
    finished_ = state[0] != 0;
    rounds_done_ = static_cast<std::int64_t>(state[1]);
    summed_ = static_cast<std::int64_t>(state[2]);
    const std::size_t expected = 3 + (summed_ > 0 ? static_cast<std::size_t>(g.out * g.in) : 0);
    TESSERA_REQUIRE(state.size() == expected, "--run.resume: the checkpoint's surrogate state has ", state.size(),
                    " values, not ", expected, " for a ", g.out, "x", g.in, " layer");
    if (summed_ > 0)
      sum_ = torch::tensor(std::vector<double>(state.begin() + 3, state.end()), torch::kDouble)
                 .to(torch::kFloat)
                 .reshape({g.out, g.in});
    template_ = sum_;  // a finished run's template; an unfinished one builds it again
  }

 private:
  // One round's surrogate on this rank (none when the round has fewer surrogates than ranks).
  struct Surrogate {
    std::shared_ptr<models::Network> network;
    std::shared_ptr<models::Network> trained;  // what the trainer runs: the network, or its Head on features
    std::optional<torch::optim::SGD> optimizer;
    torch::Tensor initial;
    // What it learned (its weight net of the share of its initialisation it kept):
    // the template. With the adversary's own initialisation that share is close to 1.
    torch::Tensor update(const std::string& name) const {
      return learned_part(target_weight(*network, name).detach(), initial).contiguous();
    }
  };

  // Trains the rounds not done yet, then places the held blocks by the template.
  void train_and_place() {
    const auto& k = fitness_.knowledge();
    TESSERA_ASSERT(k.public_data.size() > 0);
    if (features_fixed(k) && !features_.images.defined())
      features_ = {k.layer.features(k.public_data.images), k.public_data.labels};
    const auto& data = features_fixed(k) ? features_ : k.public_data;
    const auto& recipe = settings_.recipe;
    const int ranks = size_of(attack_), me = rank_of(attack_);
    const std::int64_t steps_per_epoch = (data.size() + recipe.batch - 1) / recipe.batch;
    const std::int64_t steps = recipe.epochs * steps_per_epoch;
    const std::int64_t rounds = (settings_.count + ranks - 1) / ranks;
    log::info("attack: surrogate: ", settings_.count, " surrogate(s) of ", k.target_parameter, " on ", ranks,
              " attack rank(s), each ", recipe.epochs, " epoch(s) of ", data.size(), " public images (batch ",
              recipe.batch, ", lr ", recipe.lr, ")",
              rounds_done_ ? ", from round " + std::to_string(rounds_done_ + 1) + " of " + std::to_string(rounds) : "");
    log::Progress progress("surrogate", (rounds - rounds_done_) * steps);
    if (budget_s_ > 0) progress.set_deadline(std::max(1e-9, budget_s_ - elapsed()));

    int signal = 0;
    bool late = false;
    std::int64_t done_steps = 0;
    torch::Tensor partial;  // the interrupted round's updates, in surrogate order
    for (; rounds_done_ < rounds; ++rounds_done_) {
      const std::int64_t mine = rounds_done_ * ranks + me;
      Surrogate surrogate;
      if (mine < settings_.count) {
        const auto init_seed = settings_.init_seed >= 0
                                   ? static_cast<std::uint64_t>(settings_.init_seed)
                                   : derive_seed(seed_, "surrogate-init", static_cast<std::uint64_t>(mine));
        surrogate.network = surrogate_network(k, init_seed);
        auto weight = target_weight(*surrogate.network, k.target_parameter);
        const auto layer = k.target_parameter.substr(0, k.target_parameter.size() - std::string(".weight").size());
        surrogate.trained = features_fixed(k) ? std::make_shared<Head>(surrogate.network, layer) : surrogate.network;
        surrogate.initial = weight.detach().clone();
        surrogate.optimizer.emplace(train::make_optimizer(std::vector<torch::Tensor>{weight}, recipe));
      }
      done_steps = 0;
      for (int epoch = 0; epoch < recipe.epochs && !signal && !late; ++epoch) {
        torch::Tensor order;
        if (surrogate.network) {
          train::set_epoch_learning_rate(*surrogate.optimizer, recipe, epoch);
          order = data::epoch_order(data.size(),
                                    derive_seed(seed_, "surrogate-batches", static_cast<std::uint64_t>(mine)), epoch);
        }
        for (std::int64_t first = 0; first < steps_per_epoch && !signal && !late; first += kStepsPerCheck) {
          const auto last = std::min(steps_per_epoch, first + kStepsPerCheck);
          if (surrogate.network)
            train::run_steps(*surrogate.trained, *surrogate.optimizer, data, order, recipe.batch, first, last,
                             MPI_COMM_SELF);
          done_steps += last - first;
          progress.advance(last - first);
          signal = stop::agreed(attack_);
          late = stop::budget_spent(started_, budget_s_, attack_);
        }
      }
      const auto updates = round_sum(surrogate, rounds_done_, ranks);
      // The same sum on every attack rank: all of them see this.
      TESSERA_REQUIRE(torch::isfinite(updates.first).all().item<bool>(), "--attack.method=surrogate: a surrogate's ",
                      "training diverged (its update is not finite): lower --train.lr (", recipe.lr, ")");
      if (signal || late) {
        partial = updates.first;
        break;
      }
      sum_ = summed_ ? sum_ + updates.first : updates.first;
      summed_ += updates.second;
    }
    finished_ = rounds_done_ == rounds;
    if (!finished_)
      log::info("attack: surrogate: training stopped by ", signal ? stop::signal_name(signal) : "the time budget",
                " after ", done_steps, " of ", steps, " steps of round ", rounds_done_ + 1, " of ", rounds,
                "; the placement is made from what the surrogates learned so far");
    progress.finish();
    template_ = partial.defined() ? (summed_ ? sum_ + partial : partial) : sum_;
    members_ = {most_correlated_placement(k.held, template_, k.grid)};
    evaluation_ = fitness_.evaluate(members_);
    scored_ += 1;
  }

  // The sum of round `round`'s updates, in surrogate order, on every rank, and their number.
  std::pair<torch::Tensor, std::int64_t> round_sum(const Surrogate& surrogate, std::int64_t round, int ranks) const {
    const auto& k = fitness_.knowledge();
    torch::Tensor sum;
    std::int64_t count = 0;
    for (int owner = 0; owner < ranks && round * ranks + owner < settings_.count; ++owner, ++count) {
      auto update = owner == rank_of(attack_) ? surrogate.update(k.target_parameter)
                                              : torch::empty({k.grid.out, k.grid.in}, torch::kFloat);
      MPI_Bcast(update.data_ptr<float>(), static_cast<int>(update.numel()), MPI_FLOAT, owner, attack_);
      sum = sum.defined() ? sum + update : update;
    }
    return {sum, count};
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }

  Fitness& fitness_;
  SurrogateSettings settings_;
  std::uint64_t seed_;
  MPI_Comm attack_;
  double budget_s_;
  Clock::time_point started_;
  bool finished_ = false;
  std::int64_t rounds_done_ = 0, summed_ = 0;
  data::Split features_;  // the cut layer's input on the public images (when features_fixed)
  torch::Tensor sum_;  // the completed rounds' updates summed (the scale does not matter to a correlation)
  torch::Tensor template_;  // what the placement was read from: sum_ and the interrupted round's updates
};

}  // namespace

const SearchMethod surrogate_method{
    "surrogate",
    "surrogate templates: the adversary trains the cut layer itself (its own initialisation, every other layer "
    "known and frozen, train.* on --adversary.public images); held blocks go where they correlate best with "
    "the surrogates' mean update, one assignment",
    add_surrogate_options,
    read_surrogate,
    check_surrogate,
    [](const MethodSettings&) { return 1.0; },
    "",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) -> std::unique_ptr<Search> {
      return std::make_unique<SurrogateSearch>(fitness, s.surrogate, seed, attack, s.time_budget_s);
    },
    nullptr,  // its answer comes from the data alone
    true,
    [](const h5::Group& group, const MethodSettings& settings) {
      const auto& s = settings.surrogate;
      group.set_attr("surrogate_count", s.count);
      group.set_attr("surrogate_init_seed", s.init_seed);
      // The recipe of the adversary's own training (train.*).
      group.set_attr("surrogate_epochs", static_cast<std::int64_t>(s.recipe.epochs));
      group.set_attr("surrogate_batch", static_cast<std::int64_t>(s.recipe.batch));
      group.set_attr("surrogate_lr_step", static_cast<std::int64_t>(s.recipe.lr_step));
      group.set_attr("surrogate_lr", s.recipe.lr);
      group.set_attr("surrogate_momentum", s.recipe.momentum);
      group.set_attr("surrogate_weight_decay", s.recipe.weight_decay);
      group.set_attr("surrogate_lr_gamma", s.recipe.lr_gamma);
    },
    true};

}  // namespace tessera::search
