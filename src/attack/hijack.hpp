// The hijack: the service ranks hand the attack group what the compromised devices
// hold. World ranks [0, A) are the attack group (its first rank leads and prints),
// the others serve the model.
#pragma once

#include <mpi.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "blocks/genome.hpp"
#include "blocks/targets.hpp"

namespace tessera::attack {

struct Groups {
  MPI_Comm world, group;  // group: this rank's own (attack or service)
  bool attacker = false;
  int attack_ranks = 0;
};
// Collective over world. Error naming --attack.ranks unless 1 <= ranks < world size.
Groups split_groups(MPI_Comm world, int attack_ranks);
void free_groups(Groups& groups);

struct Loot {
  torch::Tensor held;                // (H, bh, bw), in the order they arrived
  torch::Tensor victim_predictions;  // (E): the service's answers on the eval images
  // Ground truth, for the history's scorer only (never given to a search): the
  // true position of the k-th block that arrived.
  blocks::Genome truth;
};

// Collective over world. Every service rank sends the blocks of its compromised
// devices (`held`, block ids) to the attack leader, which shuffles their order
// (seeded) so that it carries no position, and the attack group shares them. The
// service leader's `answers` (the victim's top-1 on the `images` eval images) go
// along. Attack ranks return the loot; service ranks return an empty one.
Loot hijack(const Groups& groups, const blocks::Target& target, const torch::Tensor& weight,
            const std::vector<std::int64_t>& held, const torch::Tensor& answers, std::int64_t images,
            std::uint64_t seed);

// Service ranks have nothing more to do; they wait for the attack group without
// spinning (a blocked MPI call would busy-poll a core the search needs). Collective over world.
void wait_for_attack(const Groups& groups);

}  // namespace tessera::attack
