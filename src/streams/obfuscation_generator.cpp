// The paper's learned generator M (section VI): a policy that proposes an obfuscation
// plan bundle by bundle, trained by policy gradient because the eavesdropper's
// division is not differentiable (REINFORCE with a running-mean baseline; the reward
// of a plan is -loss, and an entropy bonus keeps it exploring).
#include <torch/torch.h>

#include <cmath>

#include "core/log.hpp"
#include "streams/obfuscation_search.hpp"

namespace tessera::streams {

namespace {

constexpr std::int64_t kBundlesPerPlan = 8;
constexpr int kKinds = 6;  // cover, relay, loop, hub, lead, delay
constexpr double kEntropyBonus = 0.01;

// State: how far into the plan, and the last bundle's kind. Action: a bundle's kind
// (cover, relay, loop, hub, lead or delay), source (hub) layer and target layer.
struct GeneratorImpl : torch::nn::Module {
  GeneratorImpl(std::int64_t actions)
      : hidden(register_module("hidden", torch::nn::Linear(2 + kKinds, 32))),
        out(register_module("out", torch::nn::Linear(32, actions))) {}
  torch::Tensor forward(const torch::Tensor& state) { return out(torch::tanh(hidden(state))); }
  torch::nn::Linear hidden, out;
};
TORCH_MODULE(Generator);

torch::Tensor state_of(std::int64_t t, int last_kind) {
  auto state = torch::zeros({2 + kKinds});
  state[0] = static_cast<double>(t) / kBundlesPerPlan;
  state[1] = 1.0;
  if (last_kind >= 0) state[2 + last_kind] = 1.0;
  return state;
}

// Draws from the policy's probabilities with tessera's own generator (reproducible).
std::int64_t sample(const torch::Tensor& probabilities, Rng& rng) {
  const auto p = probabilities.contiguous();
  const auto* values = p.data_ptr<float>();
  double u = uniform_unit(rng), sum = 0;
  for (std::int64_t a = 0; a < p.numel(); ++a) {
    sum += values[a];
    if (u < sum) return a;
  }
  return p.numel() - 1;
}

}  // namespace

void search_policy_gradient(PlanSearch& search) {
  const auto L = search.layers();
  const auto actions = kKinds * L * L;
  torch::manual_seed(derive_seed(search.settings().seed, "obfuscate-generator-init"));
  Generator generator(actions);
  torch::optim::Adam optimiser(generator->parameters(), torch::optim::AdamOptions(0.02));
  auto rng = make_rng(search.settings().seed, "obfuscate-generator");
  double baseline = 0, spread = 0, best = 1e300;
  for (std::int64_t episode = 0; episode < search.settings().evaluations; ++episode) {
    auto plan = search.settings().base;
    std::vector<torch::Tensor> log_probabilities, entropies;
    int last_kind = -1;
    for (std::int64_t t = 0; t < kBundlesPerPlan; ++t) {
      const auto logits = generator->forward(state_of(t, last_kind));
      const auto log_p = torch::log_softmax(logits, 0);
      const auto a = sample(log_p.exp().detach(), rng);
      log_probabilities.push_back(log_p[a]);
      entropies.push_back(-(log_p.exp() * log_p).sum());
      last_kind = static_cast<int>(a / (L * L));
      const auto from_layer = (a / L) % L, to_layer = a % L;
      const MoveKind kinds[kKinds] = {MoveKind::cover, MoveKind::relay, MoveKind::loop,
                                      MoveKind::cover, MoveKind::lead,  MoveKind::delay};
      const auto moves = last_kind == 3 ? search.propose_hub(rng, from_layer, to_layer)
                                        : search.propose(rng, kinds[last_kind], from_layer, to_layer);
      plan.moves.insert(plan.moves.end(), moves.begin(), moves.end());
    }
    const double loss = search.evaluate(plan, "generator").loss;
    best = std::min(best, loss);
    // Reward -loss against a running mean, in units of its running spread; an entropy
    // bonus keeps the policy from settling on one bundle before it has tried others.
    const double advantage = episode == 0 ? 0.0 : (baseline - loss) / std::sqrt(spread + 1e-6);
    spread = episode == 0 ? 0.01 : 0.9 * spread + 0.1 * (loss - baseline) * (loss - baseline);
    baseline = episode == 0 ? loss : 0.9 * baseline + 0.1 * loss;
    optimiser.zero_grad();
    (-advantage * torch::stack(log_probabilities).sum() - kEntropyBonus * torch::stack(entropies).sum()).backward();
    optimiser.step();
    if ((episode + 1) % 10 == 0)
      log::info("obfuscate: generator: episode ", episode + 1, ", loss ", loss, ", best ", best);
  }
}

}  // namespace tessera::streams
