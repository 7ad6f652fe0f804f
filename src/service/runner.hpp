// The loops that drive a Service: distributed inference over a data split and
// distributed SGD training steps. Every rank runs them; the batch is split in
// balanced slices over the service's ranks.
#pragma once

#include <cstdint>
#include <vector>

#include "data/datasets.hpp"
#include "service/service.hpp"

namespace tessera::service {

struct InferenceReport {
  std::int64_t images = 0;
  double accuracy = 0;
  double reference_accuracy = 0;  // of the monolithic model on the same images
  double max_logit_diff = 0;      // max |served - monolithic| over all logits
  double max_logit = 0;           // max |monolithic logit|: the output scale
  double seconds = 0;
};

// With `reference` (the monolithic model, full weights) the logits are compared.
InferenceReport infer(Service& service, models::Network* reference, const data::Split& split, std::int64_t batch,
                      bool progress = true);

struct TrainSettings {
  std::int64_t steps = 20, batch = 256;
  double lr = 0.05, momentum = 0.9, weight_decay = 5e-4;
  std::uint64_t seed = 1;
};

torch::optim::SGD make_optimizer(const Service& service, const TrainSettings& settings);

// One SGD step on the global batch `indices` (the same on every rank); returns the
// batch's mean loss (the same on every rank).
double train_step(Service& service, torch::optim::SGD& optimizer, const data::Split& split,
                  const torch::Tensor& indices, std::int64_t step);

// `settings.steps` steps over seeded batches of the split; the mean loss of each.
std::vector<double> train_steps(Service& service, const data::Split& split, const TrainSettings& settings,
                                bool progress = true);

// A copy of `network` (same architecture, same weights).
std::shared_ptr<models::Network> clone(const models::Network& network, const std::string& arch);

}  // namespace tessera::service
