// The /finetune group of `tessera finetune`'s output file (docs/DESIGN.md 4.6),
// written and read here only: plain records, filled by the arms' code
// (attack/finetune_arms.hpp) and by whoever reads a file back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/h5.hpp"
#include "train/finetune.hpp"

namespace tessera::attack {

// The search that placed a stolen run's blocks, and the seed's formula at its effort.
struct FinetuneSearch {
  std::string method;
  double seconds = 0, best_accuracy = 0, drop_rate = 0;
  std::int64_t generations = 0, population = 0, eval_images = 0;
  struct Formula {
    bool time_holds = false, feasible = false;
    std::int64_t clue_limit = 0, smallest_infeasible = 0;
  };
  std::optional<Formula> formula;  // when the victim's training is known
};

// What a stolen run's blocks were.
struct FinetuneStolen {
  std::string source, layer;
  std::int64_t bh = 0, bw = 0, blocks = 0, held = 0;
  double held_fraction = 0, position_recovery = 0;
  std::vector<double> steal_to_train, steal_to_layer;  // levels x 3, cost over the baseline's (empty: not run)
  std::optional<FinetuneSearch> search;
};

// One /finetune/<run>: an arm's curve at its evaluation points and what it cost.
struct FinetuneRun {
  std::string name;
  std::string arm;  // stolen, layer_scratch or model_scratch
  double flops_per_image = 0;
  std::int64_t trained_parameters = 0;
  std::vector<train::Point> points;
  std::vector<double> cost;  // levels x (samples, flops, seconds) to first reach level x victim accuracy; NaN: never
  std::optional<FinetuneStolen> stolen;
};

struct FinetuneRecord {
  std::string arch, held_mode, rest, stopped_by;
  double victim_test_accuracy = 0, lr = 0;
  std::int64_t test_images = 0, public_images = 0, epochs = 0, batch = 0, evals_per_epoch = 0;
  bool complete = true;
  std::vector<double> levels;
  std::vector<FinetuneRun> runs;  // in the order they ran: the stolen runs, then the baselines
};

// Writes /finetune under `root` (collective; rank 0's values are written).
void write_finetune(const h5::Group& root, const FinetuneRecord& record);

// Reads /finetune of `root`; throws Error naming the run or dataset that is missing
// or of the wrong size.
FinetuneRecord read_finetune(const h5::Group& root);

}  // namespace tessera::attack
