// Every random stream is derived from (seed, purpose, index), so results do not
// depend on how work is split over ranks or on the order streams are created.
//
// Draws go through the functions below, never through std::shuffle or the
// std::*_distribution classes: std::mt19937_64's output is fixed by the standard,
// but what those make of it is left to the standard library (libstdc++ and libc++
// differ), and "same seed, same file" must hold whichever one built tessera
// (docs/DESIGN.md section 5).
#pragma once

#include <cstdint>
#include <iterator>
#include <random>
#include <string_view>
#include <utility>

namespace tessera {

using Rng = std::mt19937_64;

std::uint64_t derive_seed(std::uint64_t seed, std::string_view purpose, std::uint64_t index = 0);

inline Rng make_rng(std::uint64_t seed, std::string_view purpose, std::uint64_t index = 0) {
  return Rng(derive_seed(seed, purpose, index));
}

// Uniform integer in [0, bound), bound >= 1 (std::invalid_argument otherwise).
// Rejection sampling on the full 64-bit output (the lowest 2^64 mod bound values
// are redrawn, then reduced mod bound): exactly unbiased, no 128-bit arithmetic.
std::uint64_t uniform_below(std::uint64_t bound, Rng& rng);

// Uniform double in [0, 1) with 53 random bits (one engine call).
double uniform_unit(Rng& rng);

// Fisher-Yates from the back: position k of [first, last) swaps with a uniform
// position at or before it; the last step (one entry left) draws nothing.
template <class RandomIt>
void shuffle(RandomIt first, RandomIt last, Rng& rng) {
  for (auto len = static_cast<std::uint64_t>(std::distance(first, last)); len > 1; --len) {
    using std::swap;
    swap(first[len - 1], first[uniform_below(len, rng)]);
  }
}

}  // namespace tessera
