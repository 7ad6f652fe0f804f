#include "mixnn/extraction.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"

namespace tessera::mixnn {

namespace {

// The part's Linear layer when the part is one Linear layer, maybe followed by a ReLU
// (Dropout is the identity in the test phase); null otherwise. `relu` says whether the
// ReLU is there.
torch::nn::Linear solvable_linear(const models::Network& network, const PartPlan& plan, bool& relu) {
  const auto& steps = network.steps();
  torch::nn::Linear linear{nullptr};
  relu = false;
  for (int i = plan.first; i < plan.last; ++i) {
    const auto& step = steps[i];
    if (step.linear && !linear && !relu) linear = step.linear;
    else if (step.relu && linear && !relu) relu = true;
    else if (step.dropout <= 0) return torch::nn::Linear{nullptr};
  }
  return linear;
}

// Test batches both servers saw, in step order: the output of the part before (its
// own result) and the input of the part after (what the honest part sent it).
std::pair<torch::Tensor, torch::Tensor> matched_rows(const Observations& before, const Observations& after) {
  std::vector<torch::Tensor> inputs, outputs;
  for (const auto& [step, seen] : before.test) {
    const auto found = after.test.find(step);
    if (found == after.test.end() || found->second.first.size(0) != seen.second.size(0)) continue;
    inputs.push_back(seen.second.flatten(1));
    outputs.push_back(found->second.first.flatten(1));
  }
  TESSERA_REQUIRE(!inputs.empty(), "MixNN extraction: parts ", before.part + 1, " and ", after.part + 1,
                  " share no test batch");
  return {torch::cat(inputs).to(torch::kFloat64), torch::cat(outputs).to(torch::kFloat64)};
}

// Rounds of the boundary fit of a unit with too few active rows.
constexpr int kBoundaryRounds = 20;

// The minimum-norm least-squares w of design[rows] w = target[rows].
torch::Tensor least_squares(const torch::Tensor& design, const torch::Tensor& target, const torch::Tensor& rows) {
  return std::get<0>(torch::linalg_lstsq(design.index_select(0, rows), target.index_select(0, rows).unsqueeze(1),
                                         c10::nullopt, "gelsd"))
      .squeeze(1);
}

// Least squares per output unit on the rows where the unit is active (all rows
// without a ReLU: z = W x + b there is linear in W and b). The fit uses the first
// half of the rows and `fit_rows` active rows per unit at most; the rest is held out.
// Inactive rows are used only for a unit the active ones leave undetermined.
SolvedPart solve(const torch::Tensor& x, const torch::Tensor& y, bool relu, torch::nn::Linear& linear,
                 std::int64_t fit_rows) {
  const std::int64_t rows = x.size(0), half = std::max<std::int64_t>(1, rows / 2);
  const std::int64_t in = x.size(1), out = y.size(1);
  TESSERA_ASSERT(linear->weight.size(0) == out && linear->weight.size(1) == in);
  const auto fit_x = x.narrow(0, 0, half), fit_y = y.narrow(0, 0, half);
  const auto design = torch::cat({fit_x, torch::ones({half, 1}, x.options())}, 1);
  auto solution = torch::zeros({out, in + 1}, x.options());
  SolvedPart r;
  r.determined_units = torch::zeros({out}, torch::kBool);
  r.units = out;
  r.fit_rows = half;
  r.held_out_rows = rows - half;
  for (std::int64_t j = 0; j < out; ++j) {
    const auto target = fit_y.select(1, j);
    auto rows_used = relu ? torch::nonzero(target > 0).flatten() : torch::arange(half);
    if (rows_used.numel() == 0) {  // never active: zero weights keep it so
      ++r.dead;
      continue;
    }
    if (rows_used.numel() > fit_rows) rows_used = rows_used.narrow(0, 0, fit_rows);
    auto w = least_squares(design, target, rows_used);
    if (rows_used.numel() >= in + 1) {
      ++r.determined;
      r.determined_units[j] = true;
    } else if (relu) {
      // Too few active rows to pin the unit down: the inactive rows say w.x + b <= 0.
      // Those the fit breaks join it at the boundary (0), until none is broken.
      const auto inactive = torch::nonzero(target <= 0).flatten();
      const auto inactive_design = design.index_select(0, inactive);
      auto extra = torch::empty({0}, inactive.options());
      for (int round = 0; round < kBoundaryRounds; ++round) {
        const auto broken = inactive.index_select(0, torch::nonzero(inactive_design.mv(w) > 0).flatten());
        if (broken.numel() == 0) break;
        extra = std::get<0>(torch::_unique(torch::cat({extra, broken})));
        w = least_squares(design, target, torch::cat({rows_used, extra}));
      }
    }
    solution[j] = w;
  }
  {
    torch::NoGradGuard no_grad;
    linear->weight.copy_(solution.narrow(1, 0, in));
    linear->bias.copy_(solution.select(1, in));
  }
  r.seen_inputs = fit_x.abs().amax(0) > 0;
  r.unseen_inputs = in - r.seen_inputs.sum().item<std::int64_t>();
  if (r.held_out_rows > 0) {
    const auto held_x = x.narrow(0, half, r.held_out_rows), held_y = y.narrow(0, half, r.held_out_rows);
    auto predicted = torch::addmm(solution.select(1, in), held_x, solution.narrow(1, 0, in).t());
    if (relu) predicted = predicted.clamp_min(0);
    r.held_out_error = ((predicted - held_y).norm() / held_y.norm().clamp_min(1e-30)).item<double>();

  }
  return r;
}

std::vector<torch::Tensor> parameters_of(models::Network& network, const std::vector<PartPlan>& plans,
                                         const std::vector<int>& parts) {
  std::vector<torch::Tensor> out;
  for (int p : parts)
    for (auto& t : part_parameters(network, plans[p])) out.push_back(t);
  return out;
}

// Trains `trainable` of `network` on the public data for the settings' epochs.
void learn(models::Network& network, const std::vector<torch::Tensor>& trainable, const data::Split& public_data,
           const train::Settings& settings, const std::string& label) {
  if (trainable.empty()) return;
  auto optimizer = train::make_optimizer(trainable, settings);
  for (int epoch = 0; epoch < settings.epochs; ++epoch) {
    const auto order = data::epoch_order(public_data.size(), settings.seed, epoch);
    const auto text = label + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(settings.epochs);
    train::run_epoch(network, optimizer, public_data, order, settings.batch, MPI_COMM_SELF, text.c_str());
  }
}

std::shared_ptr<models::Network> copy_of(const std::string& arch, models::Network& source) {
  auto copy = models::build(arch, 0);
  torch::NoGradGuard no_grad;
  const auto from = source.named_parameters();
  for (auto& named : copy->named_parameters()) named.value().copy_(from[named.key()]);
  return copy;
}

torch::Tensor through_parts(models::Network& network, const std::vector<PartPlan>& plans, int first, int last,
                            torch::Tensor x) {
  torch::NoGradGuard no_grad;
  network.eval();
  const auto& steps = network.steps();
  for (int i = plans[first].first; i < plans[last].last; ++i) x = steps[i].apply(x);
  return x;
}

}  // namespace

std::shared_ptr<models::Network> assemble(const std::string& arch, const std::vector<PartPlan>& plans,
                                          const std::vector<int>& parts,
                                          const std::vector<std::vector<float>>& states, std::uint64_t seed) {
  auto network = models::build(arch, seed);
  torch::NoGradGuard no_grad;
  for (int p : parts) {
    std::size_t at = 0;
    for (auto& t : part_parameters(*network, plans[p])) {
      TESSERA_ASSERT(at + static_cast<std::size_t>(t.numel()) <= states[p].size(), "state of part ", p);
      std::memcpy(t.data_ptr<float>(), states[p].data() + at, t.numel() * sizeof(float));
      at += static_cast<std::size_t>(t.numel());
    }
  }
  return network;
}

Reconstruction reconstruct(const std::string& arch, const std::vector<PartPlan>& plans,
                           const std::vector<Observations>& observed, const data::Split& public_data,
                           const ExtractionSettings& settings) {
  const int parts = static_cast<int>(plans.size());
  std::map<int, const Observations*> by_part;
  std::vector<std::vector<float>> states(parts);
  Reconstruction r;
  for (const auto& o : observed) {
    by_part[o.part] = &o;
    states[o.part] = o.state;
    r.own.push_back(o.part);
  }
  std::sort(r.own.begin(), r.own.end());
  const auto seed = settings.settings.seed;
  auto model = assemble(arch, plans, r.own, states, derive_seed(seed, "mixnn-extraction"));
  for (int p = 0; p < parts; ++p) {
    if (by_part.count(p)) continue;
    bool relu = false;
    auto linear = solvable_linear(*model, plans[p], relu);
    if (p == 0 || p + 1 == parts || !by_part.count(p - 1) || !by_part.count(p + 1) || !linear) {
      r.learned.push_back(p);
      continue;
    }
    const auto [x, y] = matched_rows(*by_part[p - 1], *by_part[p + 1]);
    // A layer wider than the rows a unit may be fitted on is never determined (and
    // the boundary rounds on such systems cost hours): it is learned instead.
    const std::int64_t unknowns = linear->weight.size(1) + 1;
    if (unknowns > std::min(settings.fit_rows, x.size(0) / 2)) {
      log::info("MixNN extraction: part ", p + 1, " (", plans[p].name, ") has ", unknowns,
                " unknowns per unit, more than the ", std::min(settings.fit_rows, x.size(0) / 2),
                " rows a unit can be fitted on: learned on public data instead");
      r.learned.push_back(p);
      continue;
    }
    auto solved = solve(x, y, relu, linear, settings.fit_rows);
    solved.part = p;
    r.layers.push_back(solved);
    r.solved.push_back(p);
    log::info("MixNN extraction: part ", p + 1, " (", plans[p].name, ") solved from ", x.size(0),
              " observed rows: ", solved.determined, " of ", solved.units, " units determined, ", solved.dead,
              " never active; held-out relative error ", solved.held_out_error);
  }
  auto learning = settings.settings;
  learning.seed = derive_seed(seed, "mixnn-extraction-public");
  learn(*model, parameters_of(*model, plans, r.learned), public_data, learning, "extraction: learn the honest ends");
  r.learned_model = model;

  r.fine_tuned_model = copy_of(arch, *model);
  auto tuning = learning;
  tuning.lr *= settings.fine_tune_lr_factor;
  std::vector<int> tuned = r.learned;
  tuned.insert(tuned.end(), r.solved.begin(), r.solved.end());
  learn(*r.fine_tuned_model, parameters_of(*r.fine_tuned_model, plans, tuned), public_data, tuning,
        "extraction: fine-tune");

  r.public_model = models::build(arch, derive_seed(seed, "mixnn-extraction-baseline"));
  learn(*r.public_model, r.public_model->parameters(), public_data, learning, "extraction: public data alone");
  return r;
}

ExtractionReport assess(Reconstruction reconstruction, const std::string& arch, const std::vector<PartPlan>& plans,
                        const std::vector<std::vector<float>>& victim_states, const data::Split& test) {
  const int parts = static_cast<int>(plans.size());
  std::vector<int> all(parts);
  for (int p = 0; p < parts; ++p) all[p] = p;
  auto victim = assemble(arch, plans, all, victim_states, 0);
  ExtractionReport report;
  report.reconstruction = std::move(reconstruction);
  auto& r = report.reconstruction;
  torch::Tensor reference;
  {
    torch::NoGradGuard no_grad;
    victim->eval();
    reference = victim->forward(test.images).argmax(1);
  }
  report.victim_accuracy = train::evaluate(*victim, test, MPI_COMM_SELF).accuracy;
  report.learned = train::evaluate(*r.learned_model, test, MPI_COMM_SELF, 1000, reference);
  report.fine_tuned = train::evaluate(*r.fine_tuned_model, test, MPI_COMM_SELF, 1000, reference);
  report.public_only = train::evaluate(*r.public_model, test, MPI_COMM_SELF, 1000, reference);

  for (auto& layer : r.layers) {
    bool relu = false;
    auto truth = solvable_linear(*victim, plans[layer.part], relu);
    auto mine = solvable_linear(*r.learned_model, plans[layer.part], relu);
    torch::NoGradGuard no_grad;
    const auto seen = layer.seen_inputs.nonzero().flatten();
    const auto true_weight = truth->weight.index_select(1, seen).to(torch::kFloat64);
    const auto difference = mine->weight.index_select(1, seen).to(torch::kFloat64) - true_weight;
    // Undefined (NaN) when no input was seen or no unit determined.
    const auto determined = layer.determined_units.nonzero().flatten();
    layer.weight_error = seen.numel() ? (difference.norm() / true_weight.norm().clamp_min(1e-30)).item<double>()
                                      : NAN;
    layer.determined_weight_error = seen.numel() && determined.numel()
                                        ? (difference.index_select(0, determined).norm() /
                                           true_weight.index_select(0, determined).norm().clamp_min(1e-30))
                                              .item<double>()
                                        : NAN;
    layer.bias_error = ((mine->bias - truth->bias).to(torch::kFloat64).norm() /
                        truth->bias.to(torch::kFloat64).norm().clamp_min(1e-30))
                           .item<double>();
  }
  if (!r.own.empty()) {
    report.middle_first = r.own.front();
    report.middle_last = r.own.back();
    auto x = report.middle_first > 0 ? through_parts(*victim, plans, 0, report.middle_first - 1, test.images)
                                     : test.images;
    const auto expected = through_parts(*victim, plans, report.middle_first, report.middle_last, x);
    const auto got = through_parts(*r.learned_model, plans, report.middle_first, report.middle_last, x);
    report.middle_error = ((got - expected).to(torch::kFloat64).norm() /
                           expected.to(torch::kFloat64).norm().clamp_min(1e-30))
                              .item<double>();
  }
  return report;
}

}  // namespace tessera::mixnn
