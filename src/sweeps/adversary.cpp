#include "sweeps/adversary.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::sweeps {

std::vector<std::int64_t> held_blocks(const blocks::Placement& placement, double drop_rate, std::uint64_t seed,
                                      std::int64_t repeat) {
  TESSERA_REQUIRE(drop_rate >= 0 && drop_rate <= 1, "drop rate ", drop_rate, " is outside [0, 1]");
  const auto n = static_cast<std::int64_t>(placement.device_of_block.size());
  const auto wanted = static_cast<std::int64_t>(std::llround((1.0 - drop_rate) * n));
  std::vector<std::int64_t> order(placement.devices());
  std::iota(order.begin(), order.end(), 0);
  auto rng = make_rng(seed, "compromise", repeat);
  tessera::shuffle(order.begin(), order.end(), rng);

  const auto blocks_of = placement.blocks_of_devices();
  std::vector<std::int64_t> held;
  for (std::size_t k = 0; k < order.size() && static_cast<std::int64_t>(held.size()) < wanted; ++k)
    held.insert(held.end(), blocks_of[order[k]].begin(), blocks_of[order[k]].end());
  std::sort(held.begin(), held.end());
  return held;
}

std::vector<std::int64_t> transposed_positions(const std::vector<std::int64_t>& held, const blocks::Grid& grid,
                                               std::int64_t pairs, std::uint64_t seed) {
  TESSERA_REQUIRE(pairs >= 0, "--swap.pairs: must be >= 0, got ", pairs);
  std::vector<std::int64_t> position = held;
  if (pairs == 0) return position;
  const auto h = static_cast<std::int64_t>(held.size());
  TESSERA_REQUIRE(h >= 2, "--swap.pairs: ", pairs, " pairs need at least 2 held blocks, the adversary holds ", h);
  auto shape_of = [&](std::int64_t b) {
    return std::make_pair(grid.height(grid.row_of(b)), grid.width(grid.col_of(b)));
  };
  // Blocks can only trade places with blocks of their own shape (ragged edges).
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::int64_t>> by_shape;
  for (std::int64_t k = 0; k < h; ++k) by_shape[shape_of(held[k])].push_back(k);
  std::vector<std::int64_t> swappable;
  for (std::int64_t k = 0; k < h; ++k)
    if (by_shape[shape_of(held[k])].size() >= 2) swappable.push_back(k);
  TESSERA_REQUIRE(!swappable.empty(), "--swap.pairs: no two held blocks have the same shape");

  auto rng = make_rng(seed, "transpositions");
  for (std::int64_t p = 0; p < pairs; ++p) {
    const auto i = swappable[uniform_below(swappable.size(), rng)];
    const auto& group = by_shape[shape_of(held[i])];
    std::int64_t j = i;
    while (j == i) j = group[uniform_below(group.size(), rng)];
    std::swap(position[i], position[j]);
  }
  return position;
}

}  // namespace tessera::sweeps
