#include "attack/hijack.hpp"

#include <chrono>
#include <thread>

#include "core/ranks.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::attack {

Groups split_groups(MPI_Comm world, int attack_ranks) {
  const int size = size_of(world);
  agree(world, [&] {
    TESSERA_REQUIRE(attack_ranks >= 1 && attack_ranks < size, "--attack.ranks: ", attack_ranks,
                    " attack ranks need at least one service rank beside them; the world has ", size,
                    " ranks (mpiexec -n)");
  });
  Groups groups;
  groups.world = world;
  groups.attack_ranks = attack_ranks;
  groups.attacker = rank_of(world) < attack_ranks;
  MPI_Comm_split(world, groups.attacker ? 0 : 1, rank_of(world), &groups.group);
  return groups;
}

void free_groups(Groups& groups) {
  if (groups.group != MPI_COMM_NULL) MPI_Comm_free(&groups.group);
}

Loot hijack(const Groups& groups, const blocks::Target& target, const torch::Tensor& weight,
            const std::vector<std::int64_t>& held, const torch::Tensor& answers_in, std::int64_t images,
            std::uint64_t seed) {
  const auto& grid = target.grid;
  const auto bh = grid.bh, bw = grid.bw, area = bh * bw;
  const int rank = rank_of(groups.world), size = size_of(groups.world), leader = 0;
  const int first_service = groups.attack_ranks;
  // Which service rank holds each held block: the rank of the block's device
  // (placement ranks count the service group from 0).
  auto owner = [&](std::int64_t b) {
    return first_service + target.placement.rank_of_device[target.placement.device_of_block[b]];
  };
  Loot loot;
  if (!groups.attacker) {
    std::vector<std::int64_t> mine;
    std::vector<float> data;
    for (auto b : held) {
      if (owner(b) != rank) continue;
      mine.push_back(b);
      auto block = weight.narrow(0, grid.row_begin(grid.row_of(b)), bh).narrow(1, grid.col_begin(grid.col_of(b)), bw)
                       .contiguous();
      data.insert(data.end(), block.data_ptr<float>(), block.data_ptr<float>() + area);
    }
    MPI_Send(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T, leader, 0, groups.world);
    MPI_Send(data.data(), static_cast<int>(data.size()), MPI_FLOAT, leader, 1, groups.world);
    if (rank == first_service) {
      auto answers = answers_in.to(torch::kInt64).contiguous();
      TESSERA_ASSERT(answers.numel() == images);
      MPI_Send(answers.data_ptr<std::int64_t>(), static_cast<int>(answers.numel()), MPI_INT64_T, leader, 2,
               groups.world);
    }
    return loot;
  }

  const auto H = static_cast<std::int64_t>(held.size());
  const std::int64_t E = images;
  std::vector<std::int64_t> ids(H);
  std::vector<float> data(H * area);
  std::vector<std::int64_t> answers(E);
  if (rank == leader) {
    std::int64_t arrived = 0;
    for (int s = first_service; s < size; ++s) {
      MPI_Status status;
      int count = 0;
      MPI_Probe(s, 0, groups.world, &status);
      MPI_Get_count(&status, MPI_INT64_T, &count);
      TESSERA_ASSERT(arrived + count <= H);
      MPI_Recv(ids.data() + arrived, count, MPI_INT64_T, s, 0, groups.world, MPI_STATUS_IGNORE);
      MPI_Recv(data.data() + arrived * area, count * static_cast<int>(area), MPI_FLOAT, s, 1, groups.world,
               MPI_STATUS_IGNORE);
      arrived += count;
    }
    TESSERA_ASSERT(arrived == H);
    MPI_Recv(answers.data(), static_cast<int>(E), MPI_INT64_T, first_service, 2, groups.world, MPI_STATUS_IGNORE);
  }
  MPI_Bcast(ids.data(), static_cast<int>(H), MPI_INT64_T, 0, groups.group);
  MPI_Bcast(data.data(), static_cast<int>(data.size()), MPI_FLOAT, 0, groups.group);
  MPI_Bcast(answers.data(), static_cast<int>(E), MPI_INT64_T, 0, groups.group);

  // The order of arrival follows the ranks and devices; a seeded shuffle removes it.
  auto rng = make_rng(seed, "hijack-order");
  const auto shuffled = blocks::random_genome(static_cast<std::int32_t>(H), rng);
  const std::vector<std::int64_t> order(shuffled.begin(), shuffled.end());
  auto blocks = torch::from_blob(data.data(), {H, bh, bw}, torch::kFloat32);
  loot.held = blocks.index_select(0, torch::tensor(order, torch::kInt64)).contiguous();
  for (auto k : order) loot.truth.push_back(static_cast<std::int32_t>(ids[k]));
  loot.victim_predictions = torch::tensor(answers, torch::kInt64);
  return loot;
}

void wait_for_attack(const Groups& groups) {
  MPI_Request request;
  MPI_Ibarrier(groups.world, &request);
  if (groups.attacker) {
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    return;
  }
  int done = 0;
  while (MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace tessera::attack
