// The /drop and /swap groups of a sweep's output file (docs/DESIGN.md section 4),
// written and read here only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/h5.hpp"

namespace tessera::sweeps {

struct SweepRecord {
  std::string kind;  // "drop" or "swap": the group's name
  std::string arch, model_checkpoint, layer;
  std::string knowledge;  // the adversary's: positions (drop) or layer (swap)
  std::int64_t bh = 0, bw = 0, blocks = 0, devices = 0, repeats = 0, eval_images = 0;
  double victim_accuracy = 0, victim_loss = 0;
  std::vector<double> rates;
  std::vector<double> pairs;  // swap only
  // One value per point, in row-major order of rates x [pairs x] repeats.
  std::vector<double> accuracy, loss, fidelity, held_fraction;

  // The results' shape: (rates, repeats) or (rates, pairs, repeats).
  std::vector<hsize_t> shape() const;
};

// Writes /<kind> under `root` (collective; rank 0's values are written).
void write_sweep(const h5::Group& root, const SweepRecord& sweep);

// Reads /<kind> (drop or swap) of `root`; throws Error naming the group when a
// dataset or attribute is missing or a result's shape disagrees with the grid.
SweepRecord read_sweep(const h5::Group& root, const std::string& kind);

}  // namespace tessera::sweeps
