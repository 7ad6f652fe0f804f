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

void write_series(const h5::Group& g, const std::vector<train::Point>& points) {
  const hsize_t n = points.size();
  std::vector<double> epoch, flops, seconds, loss, accuracy, test_loss, fidelity;
  std::vector<std::int64_t> samples;
  for (const auto& p : points) {
    epoch.push_back(p.epoch);
    samples.push_back(p.samples);
    flops.push_back(p.flops);
    seconds.push_back(p.seconds);
    loss.push_back(p.train_loss);
    accuracy.push_back(p.test.accuracy);
    test_loss.push_back(p.test.loss);
    fidelity.push_back(p.test.agreement);
  }
  g.create_dataset<std::int64_t>("samples", {n}).write(samples.data());
  for (auto& [name, values] : std::vector<std::pair<const char*, std::vector<double>*>>{
           {"epoch", &epoch}, {"flops", &flops}, {"seconds", &seconds}, {"train_loss", &loss},
           {"test_accuracy", &accuracy}, {"test_loss", &test_loss}, {"fidelity", &fidelity}})
    g.create_dataset<double>(name, {n}).write(values->data());
}

void write_table(const h5::Group& g, const std::string& name, const std::vector<double>& table) {
  g.create_dataset<double>(name, {kCostLevels.size(), 3}).write(table.data());
}

// The search's own record and the seed's formula (docs/DESIGN.md 3.9) at its effort:
// Pop, gen and Size(Ev) of the search, Size(Tr) and Ep of the victim's training.
void describe_search(const h5::Group& g, const AttackRun& search, std::int64_t blocks,
                     const VictimTraining& victim) {
  g.set_attr("search_method", search.method);
  g.set_attr("search_seconds", search.seconds);
  g.set_attr("search_generations", search.generations);
  g.set_attr("search_population", search.population);
  g.set_attr("search_eval_images", search.eval_images);
  g.set_attr("search_best_accuracy", search.best_accuracy);
  g.set_attr("drop_rate", search.drop_rate);
  if (victim.epochs <= 0) return;
  ThresholdInputs in;
  in.train_size = victim.train_size;
  in.epochs = victim.epochs;
  in.population = std::max<std::int64_t>(1, search.population);
  in.generations = std::max<std::int64_t>(1, search.generations);
  in.eval_size = std::max<std::int64_t>(1, search.eval_images);
  if (!invalid_input(in).empty()) return;
  const auto verdict = solve(in);
  g.set_attr("formula_time_holds", static_cast<std::int64_t>(verdict.time.holds));
  g.set_attr("formula_clue_limit", verdict.clue_limit);
  g.set_attr("formula_smallest_infeasible", verdict.smallest_infeasible);
  g.set_attr("formula_feasible", static_cast<std::int64_t>(verdict.smallest_infeasible == 0 ||
                                                           blocks < verdict.smallest_infeasible));
}

}  // namespace

void write_finetune(const h5::Group& group, const std::vector<ArmResult>& results, double victim_accuracy,
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
  group.set_attr("arch", arch);
  group.set_attr("victim_test_accuracy", victim_accuracy);
  group.set_attr("test_images", test_images);
  group.set_attr("public", public_images);
  group.set_attr("epochs", static_cast<std::int64_t>(schedule.train.epochs));
  group.set_attr("batch", schedule.train.batch);
  group.set_attr("lr", schedule.train.lr);
  group.set_attr("evals_per_epoch", static_cast<std::int64_t>(schedule.evals_per_epoch));
  group.set_attr("held_mode", modes.held);
  group.set_attr("rest", modes.rest);
  group.set_attr("levels", kCostLevels);
  for (const auto& r : results) {
    auto g = group.require_group(r.run);
    g.set_attr("arm", r.stolen ? std::string("stolen") : r.arm.name);
    g.set_attr("flops_per_image", r.arm.flops_per_image);
    std::int64_t trained = 0;
    for (const auto& p : r.arm.trained) trained += p.numel();
    g.set_attr("trained_parameters", trained);
    write_series(g, r.points);
    const auto cost = cost_table(r.points, victim_accuracy);
    write_table(g, "cost", cost);
    if (!r.stolen) continue;
    const auto& s = *r.stolen;
    g.set_attr("source", s.source);
    g.set_attr("layer", s.layer);
    g.set_attr("bh", s.grid.bh);
    g.set_attr("bw", s.grid.bw);
    g.set_attr("blocks", s.grid.count());
    g.set_attr("held", static_cast<std::int64_t>(s.held.size()));
    g.set_attr("held_fraction", static_cast<double>(s.held.size()) / static_cast<double>(s.grid.count()));
    g.set_attr("position_recovery", s.recovery());
    if (s.search) describe_search(g, *s.search, s.grid.count(), victim);
    if (!train_cost.empty()) write_table(g, "steal_to_train", ratio(cost, train_cost));
    if (!layer_cost.empty()) write_table(g, "steal_to_layer", ratio(cost, layer_cost));
  }
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
