#include "search/operators.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace tessera::search {

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("search: " + what); }

// Uniform index in [0, n) as int32 (n >= 1 and fits int32, so the cast is exact).
std::int32_t draw_index(std::int32_t n, std::mt19937_64& rng) {
  return static_cast<std::int32_t>(uniform_below(static_cast<std::uint64_t>(n), rng));
}

// Two distinct uniform indices of [0, n), n >= 2: j is drawn among the n - 1
// others and shifted past i, so every ordered pair is equally likely.
std::pair<std::int32_t, std::int32_t> distinct_pair(std::int32_t n, std::mt19937_64& rng) {
  std::int32_t i = draw_index(n, rng);
  std::int32_t j = draw_index(n - 1, rng);
  if (j >= i) ++j;
  return {i, j};
}

std::int32_t checked_size(const Genome& g, const char* what) {
  if (g.size() > static_cast<std::size_t>(INT32_MAX)) fail(std::string(what) + " is too long");
  return static_cast<std::int32_t>(g.size());
}

void check_parents(const Genome& a, const Genome& b) {
  if (a.size() != b.size()) {
    fail("crossover parents differ in length (" + std::to_string(a.size()) + " vs " +
         std::to_string(b.size()) + ")");
  }
  checked_size(a, "crossover parent");
  if (!is_valid_permutation(a) || !is_valid_permutation(b)) fail("crossover parent is not a permutation");
}

void check_cuts(std::int32_t n, std::int32_t cut1, std::int32_t cut2, const char* what) {
  if (cut1 < 0 || cut1 > cut2 || cut2 > n) {
    fail(std::string(what) + ": cuts [" + std::to_string(cut1) + ", " + std::to_string(cut2) +
         ") outside [0, " + std::to_string(n) + "]");
  }
}

// Strict total order "i is better than j": higher fitness first, NaN last,
// ties by lower index. Being total is what makes tournament and elitism
// reproducible whatever the container or sort algorithm.
bool better(const std::vector<double>& f, std::size_t i, std::size_t j) {
  const bool nan_i = std::isnan(f[i]);
  const bool nan_j = std::isnan(f[j]);
  if (nan_i != nan_j) return nan_j;
  if (nan_i || f[i] == f[j]) return i < j;
  return f[i] > f[j];
}

}  // namespace

Slice random_slice(std::int32_t n, std::mt19937_64& rng) {
  if (n < 1) fail("random_slice needs n >= 1");
  const std::int32_t i = draw_index(n, rng);
  const std::int32_t j = draw_index(n, rng);
  return {std::min(i, j), std::max(i, j) + 1};
}

Genome order_crossover_at(const Genome& a, const Genome& b, std::int32_t cut1, std::int32_t cut2) {
  check_parents(a, b);
  const std::int32_t n = static_cast<std::int32_t>(a.size());
  check_cuts(n, cut1, cut2, "order_crossover_at");
  Genome child(a.size(), -1);
  std::vector<bool> used(a.size(), false);
  for (std::int32_t i = cut1; i < cut2; ++i) {
    child[i] = a[i];
    used[a[i]] = true;
  }
  // Read b and write the child both cyclically from cut2: Davis's OX, which
  // keeps b's relative order around a's slice.
  std::int32_t out = cut2 % std::max(n, 1);
  for (std::int32_t step = 0; step < n; ++step) {
    const std::int32_t v = b[(cut2 + step) % n];
    if (used[v]) continue;
    while (child[out] != -1) out = (out + 1) % n;
    child[out] = v;
    used[v] = true;
  }
  return child;
}

Genome pmx_crossover_at(const Genome& a, const Genome& b, std::int32_t cut1, std::int32_t cut2) {
  check_parents(a, b);
  const std::int32_t n = static_cast<std::int32_t>(a.size());
  check_cuts(n, cut1, cut2, "pmx_crossover_at");
  Genome child(a.size(), -1);
  std::vector<bool> in_slice(a.size(), false);  // by value: copied from a's slice
  std::vector<std::int32_t> where_in_b(a.size());
  for (std::int32_t i = 0; i < n; ++i) where_in_b[b[i]] = i;
  for (std::int32_t i = cut1; i < cut2; ++i) {
    child[i] = a[i];
    in_slice[a[i]] = true;
  }
  for (std::int32_t i = cut1; i < cut2; ++i) {
    const std::int32_t v = b[i];
    if (in_slice[v]) continue;
    // v was displaced by a[i]; put v where a[i] sits in b, and if that spot is
    // inside the slice too, follow the mapping on. The chain visits distinct
    // slice indices (the map is injective) and v is not in a's slice, so it
    // leaves the slice within cut2 - cut1 steps.
    std::int32_t p = i;
    do {
      p = where_in_b[a[p]];
    } while (p >= cut1 && p < cut2);
    child[p] = v;
  }
  for (std::int32_t i = 0; i < n; ++i) {
    if (child[i] == -1) child[i] = b[i];
  }
  return child;
}

Genome order_crossover(const Genome& a, const Genome& b, std::mt19937_64& rng) {
  check_parents(a, b);
  if (a.empty()) return {};
  const Slice s = random_slice(static_cast<std::int32_t>(a.size()), rng);
  return order_crossover_at(a, b, s.begin, s.end);
}

Genome pmx_crossover(const Genome& a, const Genome& b, std::mt19937_64& rng) {
  check_parents(a, b);
  if (a.empty()) return {};
  const Slice s = random_slice(static_cast<std::int32_t>(a.size()), rng);
  return pmx_crossover_at(a, b, s.begin, s.end);
}

void swap_mutation(Genome& g, std::int32_t h, std::mt19937_64& rng) {
  const std::int32_t n = checked_size(g, "genome");
  if (h < 0 || h > n) fail("swap_mutation needs 0 <= h <= N");
  if (h == 0 || n < 2) return;
  apply_swap(g, random_swap_move(n, h, rng));
}

void insert_mutation_at(Genome& g, std::int32_t from, std::int32_t to) {
  const std::int32_t n = checked_size(g, "genome");
  if (from < 0 || from >= n || to < 0 || to >= n) fail("insert_mutation_at index outside the genome");
  // A rotation by one of the range between the two indices is exactly
  // "remove, shift the rest by one, reinsert".
  if (from < to) {
    std::rotate(g.begin() + from, g.begin() + from + 1, g.begin() + to + 1);
  } else if (to < from) {
    std::rotate(g.begin() + to, g.begin() + from, g.begin() + from + 1);
  }
}

void insert_mutation(Genome& g, std::mt19937_64& rng) {
  const std::int32_t n = checked_size(g, "genome");
  if (n < 2) return;
  const auto [from, to] = distinct_pair(n, rng);
  insert_mutation_at(g, from, to);
}

void scramble_mutation_at(Genome& g, std::int32_t begin, std::int32_t end, std::mt19937_64& rng) {
  const std::int32_t n = checked_size(g, "genome");
  check_cuts(n, begin, end, "scramble_mutation_at");
  tessera::shuffle(g.begin() + begin, g.begin() + end, rng);
}

void scramble_mutation(Genome& g, std::mt19937_64& rng) {
  const std::int32_t n = checked_size(g, "genome");
  if (n < 2) return;
  const auto [i, j] = distinct_pair(n, rng);
  scramble_mutation_at(g, std::min(i, j), std::max(i, j) + 1, rng);
}

std::size_t tournament(const std::vector<double>& fitness, int k, std::mt19937_64& rng) {
  if (fitness.empty()) fail("tournament on an empty population");
  if (k < 1) fail("tournament size must be >= 1");
  std::size_t best = static_cast<std::size_t>(uniform_below(fitness.size(), rng));
  for (int draw = 1; draw < k; ++draw) {
    const auto c = static_cast<std::size_t>(uniform_below(fitness.size(), rng));
    if (better(fitness, c, best)) best = c;
  }
  return best;
}

std::vector<std::size_t> elite_indices(const std::vector<double>& fitness, std::size_t e) {
  if (e > fitness.size()) {
    fail("elite count " + std::to_string(e) + " exceeds the population " + std::to_string(fitness.size()));
  }
  std::vector<std::size_t> order(fitness.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(e), order.end(),
                    [&fitness](std::size_t i, std::size_t j) { return better(fitness, i, j); });
  order.resize(e);
  return order;
}

double diversity(const std::vector<Genome>& population, std::int32_t h) {
  if (population.empty() || h == 0) {
    if (h < 0) fail("diversity needs h >= 0");
    return 0.0;
  }
  const std::size_t n = population.front().size();
  if (h < 0 || static_cast<std::size_t>(h) > n) fail("diversity needs 0 <= h <= N");
  for (const Genome& g : population) {
    if (g.size() != n) fail("diversity: genomes differ in length");
  }
  // counts is indexed by position value and cleared after each slot by
  // visiting only the values seen, so the cost is O(P h), not O(n h).
  std::vector<std::size_t> counts(n, 0);
  double sum = 0.0;
  for (std::int32_t k = 0; k < h; ++k) {
    std::size_t top = 0;
    for (const Genome& g : population) {
      const std::int32_t v = g[k];
      if (v < 0 || static_cast<std::size_t>(v) >= n) fail("diversity: genome value outside [0, N)");
      top = std::max(top, ++counts[v]);
    }
    for (const Genome& g : population) counts[g[k]] = 0;
    sum += 1.0 - static_cast<double>(top) / static_cast<double>(population.size());
  }
  return sum / static_cast<double>(h);
}

}  // namespace tessera::search
