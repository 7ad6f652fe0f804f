// The fine-tune attack (docs/DESIGN.md section 10): an adversary that holds some
// blocks of a layer trains the rest of what it lacks on its public images, and the
// same schedule run from scratch prices what the blocks saved. Each "arm" is one
// network with the parameters it trains; the arms share the data, the batches and
// the evaluation points, so their series compare point for point.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "train/trainer.hpp"

namespace tessera::train {

// Multiply-accumulates of each step with parameters on one image, in step order
// (shapes taken from one forward pass of `sample`, a batch of one image).
std::vector<double> step_macs(models::Network& network, const torch::Tensor& sample);

// GEMM and convolution flops of one image's training step: the forward pass
// (2 per MAC, every layer), then in the backward pass the weight gradient of each
// trained layer and the input gradient of each layer after the first trained one
// (2 per MAC each). `trained[i]` says whether the i-th layer with parameters trains.
double training_flops_per_image(const std::vector<double>& macs, const std::vector<bool>& trained);

struct Arm {
  std::string name;  // "stolen", "layer_scratch", "model_scratch"
  std::shared_ptr<models::Network> network;
  std::vector<torch::Tensor> trained;  // what its optimizer steps (requires_grad); the rest is frozen
  std::function<void()> after_step;    // puts frozen held values back (may be empty)
  double flops_per_image = 0;
};

// One evaluation point, taken before training and after every 1/evals of an epoch.
struct Point {
  double epoch = 0;         // epochs done, fractional
  std::int64_t samples = 0;  // training images seen
  double flops = 0, seconds = 0;  // training only: evaluation time is left out
  double train_loss = 0;    // mean over the images since the previous point (0 at the start)
  SplitScore test;          // agreement = fidelity to the victim's answers
};

struct Schedule {
  Settings train;  // epochs, batch, lr, momentum, weight decay, seed (the batches)
  int evals_per_epoch = 4;
};

// Trains `arm` on `public_split` (global batches in epoch_order(seed, epoch), data-
// parallel over `comm`) and scores it on `test` against `victim_answers` at every
// point. Collective; the same on every rank. A signal (core/stop.hpp) ends it after
// the next point when points remain: the points so far are returned and the signal
// is put in `stopped_by` (left as it is when the arm ran to its end).
std::vector<Point> run_arm(Arm& arm, const data::Split& public_split, const data::Split& test,
                           const torch::Tensor& victim_answers, const Schedule& schedule, MPI_Comm comm,
                           int* stopped_by = nullptr);

// Samples, flops and seconds at the first point whose test accuracy reaches `level`;
// NaN for each when no point does.
struct Cost {
  double samples, flops, seconds;
};
Cost cost_to_reach(const std::vector<Point>& points, double level);

}  // namespace tessera::train
