// Training and evaluation (pytorch/examples style: plain functions over a model).
// Training is data-parallel over the ranks of `comm`: every global batch is split
// into contiguous slices and the gradients are summed with MPI, so the step is the
// one a single process would take on the whole batch (up to float round-off).
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "core/config.hpp"
#include "core/log.hpp"
#include "data/datasets.hpp"
#include "models/registry.hpp"

namespace tessera::train {

struct Settings {
  int epochs = 2;
  std::int64_t batch = 128;
  double lr = 0.05, momentum = 0.9, weight_decay = 5e-4;
  int lr_step = 0;  // 0: constant learning rate
  double lr_gamma = 0.1;
  std::uint64_t seed = 1;
};

// A model's accuracy and mean loss on a data split.
struct SplitScore {
  double accuracy = 0, loss = 0;
  double agreement = 0;  // share of top-1 answers equal to a reference's (when one is given)
};

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, seconds = 0;
  SplitScore test;
};

// The train.* options as they are, with run.seed for the batches.
Settings read_training_settings(const Config& config);
// Errors naming the train.* option whose value no training can use (every command
// that trains, the adversary's surrogates included).
void check(const Settings& settings);
void check_training_options(const Config& config);
// The train.* options, checked.
Settings training_settings(const Config& config);

torch::optim::SGD make_optimizer(models::Network& network, const Settings& settings);
// Over `parameters` only (the others are not trained).
torch::optim::SGD make_optimizer(const std::vector<torch::Tensor>& parameters, const Settings& settings);

// Sets the step schedule's learning rate of `epoch` (from 0) on every group.
void set_epoch_learning_rate(torch::optim::SGD& optimizer, const Settings& settings, int epoch);

// One pass over `split` in `order` (global batches, this rank's slice of each).
// Returns the mean training loss over the epoch (same on every rank).
double run_epoch(models::Network& network, torch::optim::SGD& optimizer, const data::Split& split,
                 const torch::Tensor& order, std::int64_t batch, MPI_Comm comm,
                 const char* progress_label = nullptr);

// Global steps [first, last) of the pass over `order` (step s takes the images
// s*batch ... (s+1)*batch - 1). Only the optimizer's parameters are trained (their
// gradients summed over the ranks); `after_step`, when set, runs after every
// optimizer step (a fine-tune puts frozen weights back there). Returns the training
// loss summed over the steps' images (same on every rank).
double run_steps(models::Network& network, torch::optim::SGD& optimizer, const data::Split& split,
                 const torch::Tensor& order, std::int64_t batch, std::int64_t first, std::int64_t last,
                 MPI_Comm comm, const std::function<void()>& after_step = {}, log::Progress* progress = nullptr);

// Accuracy and mean cross-entropy on `split`, images shared out over the ranks; with
// `reference` (the split's size, int64 class ids, on every rank) also the agreement.
SplitScore evaluate(models::Network& network, const data::Split& split, MPI_Comm comm,
                    std::int64_t batch = 1000, const torch::Tensor& reference = {});

// The whole schedule: epochs with step learning rate, test evaluation after each.
std::vector<EpochRecord> fit(models::Network& network, const data::Dataset& data,
                             const Settings& settings, MPI_Comm comm);

}  // namespace tessera::train
