// Model files: /model/<state_dict name> float32 datasets with attributes arch,
// dataset and test_accuracy on /model (docs/DESIGN.md section 4).
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "io/h5.hpp"
#include "models/registry.hpp"

namespace tessera::models {

struct ModelInfo {
  std::string arch, dataset;
  double test_accuracy = 0;
  // The seed its initial weights were built from (build(arch, seed)) when its file
  // says so: trained from scratch by `tessera train` with the initialisation derived
  // from --run.seed. -1 otherwise (a secret seed, a continued training, another
  // writer). For assessing a search afterwards only: no search reads it.
  std::int64_t init_seed = -1;
};

// Collective; writes the group /model under `root`.
void save(Network& network, const ModelInfo& info, const h5::Group& root);

struct LoadedModel {
  std::shared_ptr<Network> network;
  ModelInfo info;
};

// Collective. Builds the network of the file's arch and loads every parameter.
// `expected_arch` (if not empty) must match the file. Errors name the file and
// the missing or mis-shaped parameter.
LoadedModel load(const std::string& path, MPI_Comm comm, const std::string& expected_arch = "");

}  // namespace tessera::models
