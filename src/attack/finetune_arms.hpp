// The arms of `tessera finetune` (stolen-init and the two baselines), how each is
// built from the victim, and what their results record (attack/finetune_file.hpp;
// docs/DESIGN.md sections 4.6 and 10).
#pragma once

#include <string>
#include <vector>

#include "attack/finetune_file.hpp"
#include "attack/stolen_blocks.hpp"
#include "io/h5.hpp"
#include "train/finetune.hpp"

namespace tessera::attack {

struct ArmModes {
  std::string held = "frozen";  // frozen | tuned
  std::string rest = "known";   // known | fresh
};

// The levels of the victim's test accuracy the cost table prices.
inline const std::vector<double> kCostLevels{0.9, 0.95, 0.99};

// A network of `arch` from the adversary's own initialisation (`init_seed`). With
// rest `known` every parameter but `layer`'s weight is the victim's and frozen; with
// `fresh` everything trains. `stolen` (may be null: a baseline) pastes the held
// blocks into the layer's weight; `held` frozen puts them back after every step.
train::Arm make_arm(const std::string& name, models::Network& victim, const std::string& arch,
                    const std::string& layer, const StolenBlocks* stolen, const ArmModes& modes,
                    std::uint64_t init_seed, const torch::Tensor& sample_image);

// Top-1 answers of `network` on `images`, computed in chunks without gradients.
torch::Tensor predictions(models::Network& network, const torch::Tensor& images);

struct ArmResult {
  std::string run;  // the group's name: "drop-0.5", the attack run's source, or the baseline's name
  train::Arm arm;
  std::vector<train::Point> points;
  const StolenBlocks* stolen = nullptr;  // null for a baseline
};

// What the victim's training cost, for the seed's threshold formula (Size(Tr), Ep).
struct VictimTraining {
  std::int64_t train_size = 0, epochs = 0;  // epochs 0: unknown (no formula written)
};

// The /finetune record of the results: the stolen runs carry their cost ratios to
// both baselines, which must be the last two results, and a run placed by a search
// the seed's formula's verdict at that search's effort.
FinetuneRecord finetune_record(const std::vector<ArmResult>& results, double victim_accuracy,
                               const train::Schedule& schedule, const ArmModes& modes, std::int64_t public_images,
                               const std::string& arch, std::int64_t test_images, const VictimTraining& victim);

// The cost table on standard output (rank 0).
void print_cost_table(const std::vector<ArmResult>& results, double victim_accuracy);

}  // namespace tessera::attack
