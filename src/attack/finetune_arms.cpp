#include "attack/finetune_arms.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "blocks/grid.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::attack {

train::Arm make_arm(const std::string& name, models::Network& victim, const std::string& arch,
                    const std::string& layer, const StolenBlocks* stolen, const ArmModes& modes,
                    std::uint64_t init_seed, const torch::Tensor& sample_image) {
  torch::NoGradGuard no_grad;
  train::Arm arm;
  arm.name = name;
  arm.network = models::build(arch, init_seed);
  const auto target = layer + ".weight";
  const auto victim_parameters = victim.named_parameters();
  auto parameters = arm.network->named_parameters();
  const bool rest_known = modes.rest == "known";
  for (auto& p : parameters) {
    const bool is_target = p.key() == target;
    if (rest_known && !is_target) p.value().copy_(victim_parameters[p.key()]);
    const bool trains = is_target || !rest_known;
    p.value().set_requires_grad(trains);
    if (trains) arm.trained.push_back(p.value());
  }
  if (stolen) {
    auto weight = parameters[target];
    auto pasted = paste(blocks::as_matrix(weight), blocks::as_matrix(victim_parameters[target]), *stolen);
    blocks::as_matrix(weight).copy_(pasted.weight);
    if (modes.held == "frozen") {
      // lerp with weight 1 gives the end value exactly and with weight 0 the start:
      // one pass over the matrix puts every held value back and leaves the rest.
      auto held_values = pasted.weight * pasted.mask;
      auto mask = pasted.mask;
      arm.after_step = [weight, held_values, mask]() mutable {
        torch::NoGradGuard no_grad;
        if (held_values.device() != weight.device()) {  // the arm was moved to a GPU after it was made
          held_values = held_values.to(weight.device());
          mask = mask.to(weight.device());
        }
        blocks::as_matrix(weight).lerp_(held_values, mask);
      };
    }
  }
  // The flops count: which layers train, in step order.
  std::vector<bool> trained;
  for (const auto& step : arm.network->steps())
    if (step.has_parameters) trained.push_back(!rest_known || step.name == layer);
  arm.flops_per_image = train::training_flops_per_image(train::step_macs(*arm.network, sample_image), trained);
  return arm;
}

torch::Tensor predictions(models::Network& network, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  network.eval();
  std::vector<torch::Tensor> answers;
  for (std::int64_t begin = 0; begin < images.size(0); begin += 1000)
    answers.push_back(network.forward(images.narrow(0, begin, std::min<std::int64_t>(1000, images.size(0) - begin)))
                          .argmax(1));
  return torch::cat(answers);
}

namespace {

// levels x (samples, flops, seconds), NaN where the level is never reached.
std::vector<double> cost_table(const std::vector<train::Point>& points, double victim_accuracy) {
  std::vector<double> table;
  for (double level : kCostLevels) {
    const auto c = train::cost_to_reach(points, level * victim_accuracy);
    table.insert(table.end(), {c.samples, c.flops, c.seconds});
  }
  return table;
}

std::vector<double> ratio(const std::vector<double>& numerator, const std::vector<double>& denominator) {
  std::vector<double> r(numerator.size());
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = numerator[i] / denominator[i];  // NaN when either is
  return r;
}

// The search's own record and the seed's formula (docs/DESIGN.md 3.9) at its effort:
// Pop, gen and Size(Ev) of the search, Size(Tr) and Ep of the victim's training.
FinetuneSearch search_record(const AttackRun& search, std::int64_t blocks, const VictimTraining& victim) {
  FinetuneSearch record{search.method,      search.seconds,     search.best_accuracy, search.drop_rate,
                        search.generations, search.population, search.eval_images,   std::nullopt};
  if (victim.epochs <= 0) return record;
  ThresholdInputs in;
  in.train_size = victim.train_size;
  in.epochs = victim.epochs;
  in.population = std::max<std::int64_t>(1, search.population);
  in.generations = std::max<std::int64_t>(1, search.generations);
  in.eval_size = std::max<std::int64_t>(1, search.eval_images);
  if (!invalid_input(in).empty()) return record;
  const auto verdict = solve(in);
  record.formula = FinetuneSearch::Formula{verdict.time.holds,
                                           verdict.smallest_infeasible == 0 || blocks < verdict.smallest_infeasible,
                                           verdict.clue_limit, verdict.smallest_infeasible};
  return record;
}

}  // namespace

FinetuneRecord finetune_record(const std::vector<ArmResult>& results, double victim_accuracy,
                               const train::Schedule& schedule, const ArmModes& modes, std::int64_t public_images,
                               const std::string& arch, std::int64_t test_images, const VictimTraining& victim) {
  // The arms from scratch come last; a run stopped by a signal may lack them (and
  // then the ratios to them).
  auto cost_of = [&](const std::string& arm) {
    for (const auto& r : results)
      if (!r.stolen && r.arm.name == arm) return cost_table(r.points, victim_accuracy);
    return std::vector<double>();
  };
  const auto train_cost = cost_of("model_scratch");
  const auto layer_cost = cost_of("layer_scratch");
  FinetuneRecord record;
  record.arch = arch;
  record.victim_test_accuracy = victim_accuracy;
  record.test_images = test_images;
  record.public_images = public_images;
  record.epochs = schedule.train.epochs;
  record.batch = schedule.train.batch;
  record.lr = schedule.train.lr;
  record.evals_per_epoch = schedule.evals_per_epoch;
  record.held_mode = modes.held;
  record.rest = modes.rest;
  record.levels = kCostLevels;
  for (const auto& r : results) {
    FinetuneRun run;
    run.name = r.run;
    run.arm = r.stolen ? std::string("stolen") : r.arm.name;
    run.flops_per_image = r.arm.flops_per_image;
    for (const auto& p : r.arm.trained) run.trained_parameters += p.numel();
    run.points = r.points;
    run.cost = cost_table(r.points, victim_accuracy);
    if (r.stolen) {
      const auto& s = *r.stolen;
      FinetuneStolen stolen;
      stolen.source = s.source;
      stolen.layer = s.layer;
      stolen.bh = s.grid.bh;
      stolen.bw = s.grid.bw;
      stolen.blocks = s.grid.count();
      stolen.held = static_cast<std::int64_t>(s.held.size());
      stolen.held_fraction = static_cast<double>(s.held.size()) / static_cast<double>(s.grid.count());
      stolen.position_recovery = s.recovery();
      if (s.search) stolen.search = search_record(*s.search, s.grid.count(), victim);
      if (!train_cost.empty()) stolen.steal_to_train = ratio(run.cost, train_cost);
      if (!layer_cost.empty()) stolen.steal_to_layer = ratio(run.cost, layer_cost);
      run.stolen = std::move(stolen);
    }
    record.runs.push_back(std::move(run));
  }
  return record;
}

void print_cost_table(const std::vector<ArmResult>& results, double victim_accuracy) {
  if (!log::printing()) return;
  std::printf("%-24s %6s %12s %12s %10s\n", "run", "level", "samples", "flops", "seconds");
  for (const auto& r : results) {
    const auto table = cost_table(r.points, victim_accuracy);
    for (std::size_t l = 0; l < kCostLevels.size(); ++l) {
      if (std::isnan(table[3 * l]))
        std::printf("%-24s %5.0f%% %12s %12s %10s\n", r.run.c_str(), 100 * kCostLevels[l], "not reached", "-", "-");
      else
        std::printf("%-24s %5.0f%% %12.0f %12.3g %10.2f\n", r.run.c_str(), 100 * kCostLevels[l], table[3 * l],
                    table[3 * l + 1], table[3 * l + 2]);
    }
  }
}

}  // namespace tessera::attack
