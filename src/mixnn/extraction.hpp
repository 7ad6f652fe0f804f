// MixNN's Theorem 1, case (ii), put to the test (docs/DESIGN.md section 11.3). An
// adversary controls the servers of some parts (2, 4 and 6 of seven). The theorem
// says it learns the honest parts between its own "by model extraction" but cannot
// build the model, because the first and last parts are honest. The adversary here
// does what it can: it solves each honest part that lies between two of its own
// from what they saw in the test phase (the output of the part before, the input
// of the part after), trains the parts it cannot see both sides of on public data,
// and fine-tunes. How close that comes to the victim is then measured against the
// designer's final state, which the adversary never sees.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/datasets.hpp"
#include "mixnn/part.hpp"
#include "mixnn/server.hpp"
#include "models/registry.hpp"
#include "train/trainer.hpp"

namespace tessera::mixnn {

struct ExtractionSettings {
  train::Settings settings;          // SGD for what is learned on public data (epochs included)
  double fine_tune_lr_factor = 0.1;  // the fine-tune's learning rate, relative to settings.lr
  std::int64_t fit_rows = 2048;      // active rows per unit the least squares uses, at most
};

// What least squares made of one honest part between two compromised ones. The
// observed rows are halved: the fit uses the first half, the second is held out.
struct SolvedPart {
  int part = -1;
  std::int64_t units = 0;
  std::int64_t determined = 0;  // units with more active rows than unknowns: a unique fit
  std::int64_t dead = 0;        // units never active in the observations: any weights do
  std::int64_t fit_rows = 0, held_out_rows = 0;
  // Inputs zero in every fitted row: their weights are undetermined (and unused on
  // such data); the minimum-norm solution sets them to zero.
  std::int64_t unseen_inputs = 0;
  torch::Tensor seen_inputs;       // bool, one per input
  torch::Tensor determined_units;  // bool, one per unit
  double held_out_error = 0;  // relative error of the part's output on the held-out rows
  // Against the victim (filled by assess): relative errors of the weights of the seen
  // inputs, of those of the determined units alone, and of the bias.
  double weight_error = 0, determined_weight_error = 0, bias_error = 0;
};

// The adversary's models, all of the victim's architecture.
struct Reconstruction {
  std::vector<int> own, solved, learned;  // parts: the adversary's, solved by least squares, learned on public data
  std::vector<SolvedPart> layers;         // one per solved part
  std::shared_ptr<models::Network> learned_model;     // own and solved parts fixed, the rest learned
  std::shared_ptr<models::Network> fine_tuned_model;  // then everything but its own parts fine-tuned
  std::shared_ptr<models::Network> public_model;      // the baseline: all of it learned on public data alone
};

// From the compromised servers' observations (by part, in `observed`) and public
// data alone. Parts that are one Linear layer (and a ReLU) with compromised parts on
// both sides are solved; all others that are not the adversary's are learned.
Reconstruction reconstruct(const std::string& arch, const std::vector<PartPlan>& plans,
                           const std::vector<Observations>& observed, const data::Split& public_data,
                           const ExtractionSettings& settings);

struct ExtractionReport {
  Reconstruction reconstruction;
  // Parts from the adversary's first to its last: relative error of their output
  // against the victim's on the test images (the adversary's own and solved parts).
  double middle_error = 0;
  int middle_first = -1, middle_last = -1;
  double victim_accuracy = 0;
  train::SplitScore learned, fine_tuned, public_only;  // test accuracy, loss and agreement with the victim
};

// Measures the reconstruction against the victim (the parts' final states, by part).
ExtractionReport assess(Reconstruction reconstruction, const std::string& arch, const std::vector<PartPlan>& plans,
                        const std::vector<std::vector<float>>& victim_states, const data::Split& test);

// A network of `arch` with the parameters of `parts` from `states` (a Part's state:
// parameters first); the other parameters as built from `seed`.
std::shared_ptr<models::Network> assemble(const std::string& arch, const std::vector<PartPlan>& plans,
                                          const std::vector<int>& parts,
                                          const std::vector<std::vector<float>>& states, std::uint64_t seed);

}  // namespace tessera::mixnn
