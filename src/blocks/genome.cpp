#include "blocks/genome.hpp"

#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/rng.hpp"

namespace tessera::blocks {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("genome: " + what); }

std::int32_t draw_index(std::int32_t n, std::mt19937_64& rng) {
  return static_cast<std::int32_t>(uniform_below(static_cast<std::uint64_t>(n), rng));
}

}  // namespace

Genome identity(std::int32_t n) {
  if (n < 0) fail("genome length must be >= 0");
  Genome g(static_cast<std::size_t>(n));
  std::iota(g.begin(), g.end(), 0);
  return g;
}

Genome random_genome(std::int32_t n, std::mt19937_64& rng) {
  Genome g = identity(n);
  tessera::shuffle(g.begin(), g.end(), rng);
  return g;
}

bool is_valid_permutation(const Genome& g) {
  std::vector<bool> seen(g.size(), false);
  for (std::int32_t v : g) {
    if (v < 0 || static_cast<std::size_t>(v) >= g.size() || seen[v]) return false;
    seen[v] = true;
  }
  return true;
}

SwapMove random_swap_move(std::int32_t n, std::int32_t h, std::mt19937_64& rng) {
  if (n < 2 || h < 1 || h > n) {
    fail("random_swap_move needs n >= 2 and 1 <= h <= n (n = " + std::to_string(n) +
         ", h = " + std::to_string(h) + ")");
  }
  const std::int32_t i = draw_index(h, rng);
  std::int32_t j = draw_index(n - 1, rng);
  if (j >= i) ++j;
  return {i, j};
}

void apply_swap(Genome& g, SwapMove m) {
  const auto n = static_cast<std::int64_t>(g.size());
  if (m.i < 0 || m.i >= n || m.j < 0 || m.j >= n) fail("swap move outside the genome");
  std::swap(g[m.i], g[m.j]);
}

double position_recovery(const Genome& g, std::int32_t h, const Genome& truth) {
  if (h < 0 || static_cast<std::size_t>(h) > g.size() || static_cast<std::size_t>(h) > truth.size()) {
    fail("position_recovery needs 0 <= h <= genome and truth lengths");
  }
  if (h == 0) return 0.0;
  std::int32_t hits = 0;
  for (std::int32_t k = 0; k < h; ++k) hits += g[k] == truth[k] ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(h);
}

}  // namespace tessera::blocks
