// The blocks a fine-tuning adversary starts from (docs/DESIGN.md section 10.1):
// which of the victim layer's blocks it holds and where it puts them, either at
// their true positions (the drop sweep's held set) or where a search put them
// (the best genome of a `tessera attack` run).
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attack/threshold.hpp"
#include "blocks/grid.hpp"
#include "models/registry.hpp"

namespace tessera::attack {

struct StolenBlocks {
  std::string layer;                   // e.g. "layers.0"
  blocks::Grid grid;
  std::vector<std::int64_t> held;       // the held blocks' true ids
  std::vector<std::int64_t> positions;  // where each is put (a block id of the grid)
  std::string name;                    // the run's name: "drop-0.5", or "<file stem>-<attack run>"
  std::string source;                  // "drop rate 0.5" or "file.h5:/attack/run"
  std::optional<AttackRun> search = std::nullopt;  // the search that placed them (--finetune.from)

  double recovery() const;  // share of held blocks at their true position
};

// Reads the run `run` (or the file's only run when empty) of an attack file: its
// layer, grid, held blocks (`truth`) and the last generation's best genome.
// Collective; errors name `option` and the file: unreadable, no attack run, several
// runs and none named, a run of the layer-unknown adversary (its blocks come from
// several layers), or a run of another model than `victim` (architecture `arch`).
StolenBlocks read_attack_run(const std::string& path, const std::string& run, models::Network& victim,
                             const std::string& arch, const std::string& option, MPI_Comm comm);

// The adversary's initial weight: `start` with each held block of `victim` (the
// layer's true weight, both as matrices) copied to its position; `mask` gets 1 where
// a held value lies.
struct Pasted {
  torch::Tensor weight, mask;
};
Pasted paste(const torch::Tensor& start, const torch::Tensor& victim, const StolenBlocks& stolen);

}  // namespace tessera::attack
