// Checkpoints of a search: everything needed to continue it so that the final
// history and genome equal an uninterrupted run's, bit for bit. Every generation's
// randomness is derived from (seed, part, generation), so no generator state is
// stored; members keep their recorded scores, so nothing is evaluated again.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "search/campaign.hpp"

namespace tessera::search {

struct Checkpoint {
  std::int64_t generation = -1;         // the last completed generation
  std::string fingerprint;              // the settings that must match to continue
  std::vector<std::int64_t> part_sizes;  // members per attack rank
  std::vector<std::int32_t> members;    // all members, P x N
  std::vector<double> fitness, accuracy;  // P
  // Each part's Search::save_state, one after the other, and their lengths.
  std::vector<std::int64_t> state_sizes;
  std::vector<double> state;
  History history;                      // generations 0..generation
};

// Written by the calling rank alone, as PATH.partial renamed to PATH when complete,
// so the last good checkpoint is replaced only by a complete new one.
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Collective over `comm` (every rank reads). An Error naming the file when it is
// missing, unreadable, or not a tessera checkpoint.
Checkpoint read_checkpoint(const std::string& path, MPI_Comm comm);

}  // namespace tessera::search
