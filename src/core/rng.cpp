#include "core/rng.hpp"

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

}  // namespace tessera
