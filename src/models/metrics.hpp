// The scores of a model's answers, in one place: the drop and swap sweeps
// (sweeps::Evaluator), every search's fitness (scoring::Fitness) and the benchmarks
// read them from here, so "accuracy", "loss" and "fidelity" mean the same everywhere
// and are reduced the same way.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace tessera::models {

// Sums over each candidate's images, one entry per candidate.
struct Tallies {
  std::vector<double> correct;  // top-1 answers equal to the label
  std::vector<double> loss;     // cross-entropy against the label (empty when not asked for)
  std::vector<double> agree;    // top-1 answers equal to the reference's
};

// `logits` (P*E, classes): P candidates' answers on the same E images, candidate by
// candidate; `labels` and `reference` (E) int64, the labels and a reference model's
// top-1 answers (undefined: every answer agrees). Each image's cross-entropy is
// computed in float32 and summed in float64 in image order: the bits do not depend
// on threads or instruction set, and a sum of slices' tallies equals the whole
// set's up to float64 round-off.
Tallies tally(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& reference,
              std::int64_t candidates, bool with_loss = true);

// The share of entries in which two answer vectors (E) agree: accuracy against the
// labels, fidelity against the victim's answers.
double agreement(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace tessera::models
