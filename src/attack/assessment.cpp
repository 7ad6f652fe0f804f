#include "attack/assessment.hpp"

#include "core/error.hpp"
#include "models/metrics.hpp"
#include "search/searches.hpp"

namespace tessera::attack {

namespace {

// The held positions of `truth`, then the free positions in increasing order.
blocks::Genome complete(const blocks::Genome& truth, std::int64_t positions) {
  blocks::Genome genome = truth;
  std::vector<char> taken(positions, 0);
  for (auto p : truth) taken[p] = 1;
  for (std::int32_t p = 0; p < positions; ++p)
    if (!taken[p]) genome.push_back(p);
  return genome;
}

// True when held block k placed in column group c adds exactly zero to every
// pre-activation of the adversary's images.
bool adds_nothing(const scoring::Knowledge& k, std::int64_t block, std::int64_t column) {
  const auto bw = k.grid.bw;
  auto x = k.features.narrow(1, column * bw, bw);
  return torch::mm(x, k.held[block].t()).abs().max().item<float>() == 0.0f;
}

torch::Tensor predictions(const scoring::Knowledge& k, const torch::Tensor& weight, const torch::Tensor& features) {
  return k.layer.after_layer(torch::addmm(k.layer.bias, features, weight.t()), true).argmax(1);
}

}  // namespace

double functional_recovery(const scoring::Fitness& fitness, const blocks::Genome& best, const blocks::Genome& truth) {
  torch::NoGradGuard no_grad;
  const auto& k = fitness.knowledge();
  const auto H = fitness.held(), C = k.grid.cols;
  TESSERA_ASSERT(static_cast<std::int64_t>(truth.size()) == H && static_cast<std::int64_t>(best.size()) >= H);
  std::int64_t functional = 0;
  for (std::int64_t b = 0; b < H; ++b) {
    const auto found = best[b], true_position = truth[b];
    if (true_position < 0) continue;
    functional += found == true_position || (adds_nothing(k, b, found % C) && adds_nothing(k, b, true_position % C));
  }
  return H > 0 ? static_cast<double>(functional) / static_cast<double>(H) : 0.0;
}

Assessment assess(const scoring::Fitness& fitness, const blocks::Genome& best, const blocks::Genome& truth,
                  const torch::Tensor& test_features, const torch::Tensor& test_labels,
                  const torch::Tensor& victim_weight) {
  torch::NoGradGuard no_grad;
  const auto& k = fitness.knowledge();
  Assessment a;
  a.functional_recovery = functional_recovery(fitness, best, truth);
  const auto found = predictions(k, fitness.weight_of(best), test_features);
  a.test_accuracy = models::agreement(found, test_labels);
  const auto at_truth = predictions(k, fitness.weight_of(complete(truth, fitness.positions())), test_features);
  a.true_test_accuracy = models::agreement(at_truth, test_labels);
  a.test_fidelity = models::agreement(found, predictions(k, victim_weight, test_features));
  return a;
}

TemplateQuality assess_template(const scoring::Fitness& fitness, const torch::Tensor& reference,
                                const blocks::Genome& truth, const torch::Tensor& victim_weight,
                                const torch::Tensor& victim_initial) {
  torch::NoGradGuard no_grad;
  const auto& k = fitness.knowledge();
  const auto learned =
      search::learned_part(victim_weight.to(torch::kDouble), victim_initial.to(torch::kDouble)).to(torch::kFloat);
  TemplateQuality q;
  q.correlation = search::correlation(reference, learned);
  const auto placed = search::most_correlated_placement(k.held, learned, k.grid);
  std::int64_t right = 0;
  for (std::size_t b = 0; b < truth.size(); ++b) right += truth[b] >= 0 && placed[b] == truth[b];
  q.ceiling = truth.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(truth.size());
  return q;
}

}  // namespace tessera::attack
