// How a search's answer fares beyond the score it was searched for (docs/DESIGN.md
// section 4.4): the truth is used here, after the search, and never by it.
#pragma once

#include <torch/torch.h>

#include "scoring/fitness.hpp"

namespace tessera::attack {

struct Assessment {
  // Held blocks at their true position, or at a position where, as at the true one,
  // they add nothing on any of the adversary's images (their column's inputs are
  // never active there): a placement no output on those images can tell from the truth.
  double functional_recovery = 0;
  // Top-1 accuracy on the whole test set of the model with the held blocks at the
  // found positions and the other blocks dropped, and with them at their true
  // positions (what a perfect search reaches: the drop sweep's number).
  double test_accuracy = 0, true_test_accuracy = 0;
  // The fraction of the whole test set on which the model with the held blocks at the
  // found positions (the others dropped) gives the victim's top-1 answer.
  double test_fidelity = 0;
};

// What limits a template search (the surrogate): its template against what it
// stands for, what the victim's layer learned (search::learned_part: W - a W0, its
// weight net of the share of its initial weight it kept), the best template any
// adversary could train.
struct TemplateQuality {
  // Pearson correlation of the template with W - a W0, over the whole layer.
  double correlation = 0;
  // The position recovery of the held blocks placed by correlation with W - a W0
  // itself: what a perfect template would reach on this held set and grid.
  double ceiling = 0;
};

// `reference`: the search's template (out x in); `victim_weight`, `victim_initial`:
// the target layer's trained and initial weights; `truth`: the held blocks' true positions.
TemplateQuality assess_template(const scoring::Fitness& fitness, const torch::Tensor& reference,
                                const blocks::Genome& truth, const torch::Tensor& victim_weight,
                                const torch::Tensor& victim_initial);

// The functional recovery of `best` alone. A held block whose `truth` is negative
// (it belongs in another layer) is never recovered.
double functional_recovery(const scoring::Fitness& fitness, const blocks::Genome& best, const blocks::Genome& truth);

// `best`: a genome; `truth`: the held blocks' true positions (H). The test set
// enters as the target layer's input features and the labels; `victim_weight` is the
// target layer's whole trained weight.
Assessment assess(const scoring::Fitness& fitness, const blocks::Genome& best, const blocks::Genome& truth,
                  const torch::Tensor& test_features, const torch::Tensor& test_labels,
                  const torch::Tensor& victim_weight);

}  // namespace tessera::attack
