#include "core/rng.hpp"

#include <stdexcept>

namespace tessera {

namespace {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, std::string_view purpose, std::uint64_t index) {
  // FNV-1a over the purpose keeps the mapping stable across compilers (std::hash is not).
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : purpose) h = (h ^ ch) * 0x100000001b3ULL;
  return splitmix64(splitmix64(seed ^ h) + index);
}

std::uint64_t uniform_below(std::uint64_t bound, Rng& rng) {
  if (bound == 0) throw std::invalid_argument("uniform_below needs a bound >= 1");
  // 2^64 mod bound, computed in 64 bits: the values below it are the partial
  // last block that would bias x % bound, so they are redrawn (probability
  // < bound / 2^64).
  const std::uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const std::uint64_t x = rng();
    if (x >= threshold) return x % bound;
  }
}

double uniform_unit(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace tessera
