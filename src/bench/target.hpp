// What the adversary's benchmarks share: a trained model's target layer in blocks, the
// eval images' features there, and the adversary's knowledge with some blocks held.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <vector>

#include "scoring/fitness.hpp"
#include "blocks/targets.hpp"
#include "core/config.hpp"
#include "data/datasets.hpp"
#include "models/model_file.hpp"

namespace tessera::bench {

struct BenchTarget {
  models::LoadedModel model;
  blocks::Target target;          // the first target layer that --blocks.* plans
  data::Dataset data;             // `images` test images
  models::TargetLayer layer;      // split at the target
  torch::Tensor features;         // (images, in) at the target layer
  std::vector<torch::Tensor> blocks;  // the target weight's blocks, position order
};

// Collective over `world` (--model.checkpoint, --data.*, --blocks.*); errors name the option.
BenchTarget load_bench_target(const Config& config, std::int64_t images, MPI_Comm world);

// --bench.held: comma-separated fractions of the blocks held, each in (0, 1];
// errors name the option (call inside agree).
std::vector<double> held_fractions(const Config& config);

// The adversary's knowledge when it holds the blocks at positions order[0..H).
scoring::Knowledge bench_knowledge(const BenchTarget& bench, const blocks::Genome& order, std::int64_t H);

}  // namespace tessera::bench
