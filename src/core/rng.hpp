// Every random stream is derived from (seed, purpose, index), so results do not
// depend on how work is split over ranks or on the order streams are created.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>

namespace tessera {

std::uint64_t derive_seed(std::uint64_t seed, std::string_view purpose, std::uint64_t index = 0);

inline std::mt19937_64 make_rng(std::uint64_t seed, std::string_view purpose, std::uint64_t index = 0) {
  return std::mt19937_64(derive_seed(seed, purpose, index));
}

}  // namespace tessera
