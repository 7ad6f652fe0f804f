// Search operators on permutation genomes: portable draws, crossovers on
// textbook examples (Eiben & Smith, "Introduction to Evolutionary Computing",
// section 4.5, shifted to 0-based values), validity of every operator over
// many seeds for tiny and larger N with H < N and H == N, the held-prefix rule
// of swap mutation, the exact tournament distribution, elitism, the measures,
// and same-seed determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include "search/operators.hpp"

namespace s = tessera::search;
using s::Genome;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// (N, H) shapes: N = 1 and 2, a plain permutation problem (H == N), and
// reservoirs of empty positions (H < N).
struct Shape {
  std::int32_t n;
  std::int32_t h;
};
const std::vector<Shape> kShapes = {{1, 1}, {2, 1}, {2, 2}, {3, 3}, {5, 2},
                                    {16, 16}, {16, 3}, {64, 40}, {100, 15}};

// b read cyclically from `from`, keeping only values outside child[cut1, cut2).
Genome cyclic_rest(const Genome& b, const Genome& child, std::int32_t cut1, std::int32_t cut2,
                   std::int32_t from) {
  std::vector<bool> in_slice(b.size(), false);
  for (std::int32_t i = cut1; i < cut2; ++i) in_slice[child[i]] = true;
  Genome rest;
  const auto n = static_cast<std::int32_t>(b.size());
  for (std::int32_t step = 0; step < n; ++step) {
    const std::int32_t v = b[(from + step) % n];
    if (!in_slice[v]) rest.push_back(v);
  }
  return rest;
}

}  // namespace

TEST(SearchRng, EngineOutputIsTheStandardOne) {
  // The C++ standard fixes this value ([rand.predef]); our draws build on it.
  std::mt19937_64 rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ULL);
}

TEST(SearchRng, UniformBelowIsInRangeAndUnbiased) {
  std::mt19937_64 rng(7);
  EXPECT_THROW(s::uniform_below(0, rng), std::invalid_argument);
  for (int t = 0; t < 100; ++t) EXPECT_EQ(s::uniform_below(1, rng), 0u);
  // A bound just above 2^63 rejects about half of the raw draws: still in range.
  const std::uint64_t big = (1ULL << 63) + 1;
  for (int t = 0; t < 1000; ++t) EXPECT_LT(s::uniform_below(big, rng), big);
  // 60000 draws over 6 values: each count is 10000 +- 91 (one sd).
  std::vector<int> counts(6, 0);
  for (int t = 0; t < 60000; ++t) ++counts[s::uniform_below(6, rng)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 450);
  for (int t = 0; t < 1000; ++t) {
    const double u = s::uniform_unit(rng);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(SearchGenome, IdentityAndValidity) {
  EXPECT_EQ(s::identity(0), Genome{});
  EXPECT_EQ(s::identity(4), (Genome{0, 1, 2, 3}));
  EXPECT_THROW(s::identity(-1), std::invalid_argument);
  EXPECT_TRUE(s::is_valid_permutation(Genome{}));
  EXPECT_TRUE(s::is_valid_permutation(Genome{2, 0, 1}));
  EXPECT_FALSE(s::is_valid_permutation(Genome{0, 0, 1}));
  EXPECT_FALSE(s::is_valid_permutation(Genome{0, 1, 3}));
  EXPECT_FALSE(s::is_valid_permutation(Genome{-1, 0, 1}));
}

TEST(SearchGenome, RandomGenomeIsUniformOverPermutations) {
  std::mt19937_64 rng(11);
  std::map<Genome, int> counts;
  for (int t = 0; t < 60000; ++t) ++counts[s::random_genome(3, rng)];
  ASSERT_EQ(counts.size(), 6u);  // all 3! orders reached
  for (const auto& [g, c] : counts) EXPECT_NEAR(c, 10000, 450);
  for (std::int32_t n : {0, 1, 2, 17, 1000}) {
    EXPECT_TRUE(s::is_valid_permutation(s::random_genome(n, rng))) << n;
    EXPECT_EQ(s::random_genome(n, rng).size(), static_cast<std::size_t>(n));
  }
}

TEST(SearchCrossover, OrderCrossoverTextbookExample) {
  const Genome a = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const Genome b = {8, 2, 6, 7, 1, 5, 4, 0, 3};
  // Slice a[3, 7) = 3 4 5 6; b from index 7 minus those: 0 8 2 7 1 into 7 8 0 1 2.
  EXPECT_EQ(s::order_crossover_at(a, b, 3, 7), (Genome{2, 7, 1, 3, 4, 5, 6, 0, 8}));
  EXPECT_EQ(s::order_crossover_at(b, a, 3, 7), (Genome{2, 3, 6, 7, 1, 5, 4, 8, 0}));
  // Degenerate cuts: an empty slice gives b back, the whole range gives a.
  EXPECT_EQ(s::order_crossover_at(a, b, 0, 0), b);
  EXPECT_EQ(s::order_crossover_at(a, b, 4, 4), b);
  EXPECT_EQ(s::order_crossover_at(a, b, 9, 9), b);
  EXPECT_EQ(s::order_crossover_at(a, b, 0, 9), a);
  // A slice ending at N: filling starts at index 0 and reads b from b[0].
  EXPECT_EQ(s::order_crossover_at(a, b, 6, 9), (Genome{2, 1, 5, 4, 0, 3, 6, 7, 8}));
}

TEST(SearchCrossover, PmxTextbookExample) {
  const Genome a = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const Genome b = {8, 2, 6, 7, 1, 5, 4, 0, 3};
  // b's slice values 7 and 1 are displaced: 7 -> (3 at b[8]) -> index 8;
  // 1 -> (4 at b[6], inside) -> (6 at b[2]) -> index 2. The rest is b's.
  EXPECT_EQ(s::pmx_crossover_at(a, b, 3, 7), (Genome{8, 2, 1, 3, 4, 5, 6, 0, 7}));
  EXPECT_EQ(s::pmx_crossover_at(b, a, 3, 7), (Genome{0, 6, 2, 7, 1, 5, 4, 3, 8}));
  EXPECT_EQ(s::pmx_crossover_at(a, b, 5, 5), b);
  EXPECT_EQ(s::pmx_crossover_at(a, b, 0, 9), a);
}

TEST(SearchCrossover, RejectsBadArguments) {
  const Genome a = {0, 1, 2};
  std::mt19937_64 rng(1);
  EXPECT_THROW(s::order_crossover_at(a, Genome{0, 1}, 0, 1), std::invalid_argument);
  EXPECT_THROW(s::pmx_crossover(a, Genome{0, 1}, rng), std::invalid_argument);
  EXPECT_THROW(s::order_crossover_at(a, Genome{0, 1, 1}, 0, 1), std::invalid_argument);
  EXPECT_THROW(s::pmx_crossover_at(a, Genome{0, 1, 5}, 0, 1), std::invalid_argument);
  EXPECT_THROW(s::order_crossover_at(a, a, 2, 1), std::invalid_argument);
  EXPECT_THROW(s::pmx_crossover_at(a, a, 0, 4), std::invalid_argument);
  EXPECT_THROW(s::pmx_crossover_at(a, a, -1, 2), std::invalid_argument);
  EXPECT_EQ(s::order_crossover(Genome{}, Genome{}, rng), Genome{});
  EXPECT_EQ(s::pmx_crossover(Genome{}, Genome{}, rng), Genome{});
}

TEST(SearchCrossover, RandomSliceIsNonEmptyAndCoversEveryCut) {
  std::mt19937_64 rng(5);
  EXPECT_THROW(s::random_slice(0, rng), std::invalid_argument);
  std::map<std::pair<int, int>, int> seen;
  for (int t = 0; t < 5000; ++t) {
    const s::Slice sl = s::random_slice(4, rng);
    ASSERT_GE(sl.begin, 0);
    ASSERT_LT(sl.begin, sl.end);
    ASSERT_LE(sl.end, 4);
    ++seen[{sl.begin, sl.end}];
  }
  EXPECT_EQ(seen.size(), 10u);  // every non-empty [begin, end) of 4 positions
}

// Every child of random parents is a permutation, keeps a's slice in place, and
// otherwise follows its operator's rule, for every shape and 200 seeds.
TEST(SearchCrossover, ChildrenAreValidOverManySeeds) {
  for (const Shape& shape : kShapes) {
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
      std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(shape.n));
      const Genome a = s::random_genome(shape.n, rng);
      const Genome b = s::random_genome(shape.n, rng);
      const s::Slice sl = s::random_slice(shape.n, rng);
      SCOPED_TRACE(testing::Message() << "n=" << shape.n << " seed=" << seed << " cuts=["
                                      << sl.begin << "," << sl.end << ")");
      const Genome ox = s::order_crossover_at(a, b, sl.begin, sl.end);
      const Genome pmx = s::pmx_crossover_at(a, b, sl.begin, sl.end);
      ASSERT_TRUE(s::is_valid_permutation(ox));
      ASSERT_TRUE(s::is_valid_permutation(pmx));
      std::vector<bool> in_a_slice(a.size(), false);
      for (std::int32_t i = sl.begin; i < sl.end; ++i) {
        ASSERT_EQ(ox[i], a[i]);
        ASSERT_EQ(pmx[i], a[i]);
        in_a_slice[a[i]] = true;
      }
      // OX: the child read cyclically from the slice's end is b's cyclic order.
      Genome ox_rest;
      for (std::int32_t step = 0; step < shape.n - (sl.end - sl.begin); ++step) {
        ox_rest.push_back(ox[(sl.end + step) % shape.n]);
      }
      ASSERT_EQ(ox_rest, cyclic_rest(b, ox, sl.begin, sl.end, sl.end));
      // PMX: outside the slice, every value of b that a's slice did not take
      // keeps its position in b.
      for (std::int32_t i = 0; i < shape.n; ++i) {
        if ((i < sl.begin || i >= sl.end) && !in_a_slice[b[i]]) {
          ASSERT_EQ(pmx[i], b[i]) << i;
        }
      }
      // The random forms also give permutations (from their own cuts).
      ASSERT_TRUE(s::is_valid_permutation(s::order_crossover(a, b, rng)));
      ASSERT_TRUE(s::is_valid_permutation(s::pmx_crossover(a, b, rng)));
    }
  }
}

TEST(SearchCrossover, RandomFormsUseRandomSlice) {
  const Genome a = {4, 0, 3, 1, 2, 6, 5};
  const Genome b = {6, 5, 4, 3, 2, 1, 0};
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 rng(seed), cuts(seed);
    const s::Slice sl = s::random_slice(7, cuts);
    EXPECT_EQ(s::order_crossover(a, b, rng), s::order_crossover_at(a, b, sl.begin, sl.end));
    EXPECT_EQ(rng, cuts);  // the crossover drew exactly the two cut indices
    const s::Slice sl2 = s::random_slice(7, cuts);
    EXPECT_EQ(s::pmx_crossover(a, b, rng), s::pmx_crossover_at(a, b, sl2.begin, sl2.end));
  }
}

TEST(SearchMutation, SwapMoveMovesAHeldBlock) {
  std::mt19937_64 rng(3);
  EXPECT_THROW(s::random_swap_move(1, 1, rng), std::invalid_argument);
  EXPECT_THROW(s::random_swap_move(5, 0, rng), std::invalid_argument);
  EXPECT_THROW(s::random_swap_move(5, 6, rng), std::invalid_argument);
  for (int t = 0; t < 20; ++t) {
    const s::SwapMove m = s::random_swap_move(2, 1, rng);  // the only move there is
    EXPECT_EQ(m.i, 0);
    EXPECT_EQ(m.j, 1);
  }
  // N = 6, H = 2: i covers [0, 2), j covers all of [0, 6) \ {i}; each of the
  // 2 x 5 ordered moves has probability 1/10.
  std::map<std::pair<int, int>, int> counts;
  for (int t = 0; t < 20000; ++t) {
    const s::SwapMove m = s::random_swap_move(6, 2, rng);
    ASSERT_GE(m.i, 0);
    ASSERT_LT(m.i, 2);
    ASSERT_GE(m.j, 0);
    ASSERT_LT(m.j, 6);
    ASSERT_NE(m.i, m.j);
    ++counts[{m.i, m.j}];
  }
  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [move, c] : counts) EXPECT_NEAR(c, 2000, 200);
}

TEST(SearchMutation, SwapMutationNeverTouchesOnlyTheTail) {
  for (const Shape& shape : kShapes) {
    std::mt19937_64 rng(100 + static_cast<std::uint64_t>(shape.n * 7 + shape.h));
    for (int t = 0; t < 300; ++t) {
      const Genome before = s::random_genome(shape.n, rng);
      Genome g = before;
      s::swap_mutation(g, shape.h, rng);
      ASSERT_TRUE(s::is_valid_permutation(g));
      std::vector<std::int32_t> changed;
      for (std::int32_t i = 0; i < shape.n; ++i) {
        if (g[i] != before[i]) changed.push_back(i);
      }
      if (shape.n < 2) {
        ASSERT_TRUE(changed.empty());
        continue;
      }
      ASSERT_EQ(changed.size(), 2u) << "n=" << shape.n << " h=" << shape.h;
      ASSERT_LT(changed[0], shape.h);  // the lower changed index is a held slot
      ASSERT_EQ(g[changed[0]], before[changed[1]]);
      ASSERT_EQ(g[changed[1]], before[changed[0]]);
    }
  }
}

TEST(SearchMutation, SwapMutationWithoutAMoveDrawsNothing) {
  std::mt19937_64 rng(9), untouched(9);
  Genome g = {2, 0, 1};
  s::swap_mutation(g, 0, rng);  // drop rate 1: nothing held, nothing to move
  Genome one = {0};
  s::swap_mutation(one, 1, rng);
  EXPECT_EQ(g, (Genome{2, 0, 1}));
  EXPECT_EQ(one, Genome{0});
  EXPECT_EQ(rng, untouched);
  EXPECT_THROW(s::swap_mutation(g, 4, rng), std::invalid_argument);
  EXPECT_THROW(s::swap_mutation(g, -1, rng), std::invalid_argument);
}

TEST(SearchMutation, ApplySwapTwiceUndoes) {
  Genome g = {3, 1, 4, 0, 2};
  s::apply_swap(g, {0, 4});
  EXPECT_EQ(g, (Genome{2, 1, 4, 0, 3}));
  s::apply_swap(g, {0, 4});
  EXPECT_EQ(g, (Genome{3, 1, 4, 0, 2}));
  EXPECT_THROW(s::apply_swap(g, {0, 5}), std::invalid_argument);
}

TEST(SearchMutation, InsertHandExample) {
  Genome g = {0, 1, 2, 3, 4, 5};
  s::insert_mutation_at(g, 1, 4);  // take 1, shift 2 3 4 left, put 1 at index 4
  EXPECT_EQ(g, (Genome{0, 2, 3, 4, 1, 5}));
  g = {0, 1, 2, 3, 4, 5};
  s::insert_mutation_at(g, 4, 1);  // take 4, shift 1 2 3 right, put 4 at index 1
  EXPECT_EQ(g, (Genome{0, 4, 1, 2, 3, 5}));
  s::insert_mutation_at(g, 2, 2);
  EXPECT_EQ(g, (Genome{0, 4, 1, 2, 3, 5}));
  s::insert_mutation_at(g, 0, 5);
  EXPECT_EQ(g, (Genome{4, 1, 2, 3, 5, 0}));
  EXPECT_THROW(s::insert_mutation_at(g, 0, 6), std::invalid_argument);
  EXPECT_THROW(s::insert_mutation_at(g, -1, 2), std::invalid_argument);
}

// The random insert differs from its input on one range [lo, hi] that is the
// input's range rotated by one place, left or right.
TEST(SearchMutation, InsertIsOneRotationOverManySeeds) {
  for (const Shape& shape : kShapes) {
    std::mt19937_64 rng(200 + static_cast<std::uint64_t>(shape.n));
    for (int t = 0; t < 300; ++t) {
      const Genome before = s::random_genome(shape.n, rng);
      Genome g = before;
      s::insert_mutation(g, rng);
      ASSERT_TRUE(s::is_valid_permutation(g));
      if (shape.n < 2) {
        ASSERT_EQ(g, before);
        continue;
      }
      ASSERT_NE(g, before);  // from != to always changes a permutation
      std::int32_t lo = 0, hi = shape.n - 1;
      while (g[lo] == before[lo]) ++lo;
      while (g[hi] == before[hi]) --hi;
      Genome left(before.begin() + lo, before.begin() + hi + 1), right = left;
      std::rotate(left.begin(), left.begin() + 1, left.end());
      std::rotate(right.begin(), right.end() - 1, right.end());
      const Genome got(g.begin() + lo, g.begin() + hi + 1);
      ASSERT_TRUE(got == left || got == right);
    }
  }
}

TEST(SearchMutation, ScrambleStaysInsideItsSlice) {
  std::mt19937_64 rng(21);
  const Genome before = s::identity(10);
  bool changed = false;
  for (int t = 0; t < 100; ++t) {
    Genome g = before;
    s::scramble_mutation_at(g, 3, 7, rng);
    ASSERT_TRUE(s::is_valid_permutation(g));
    for (std::int32_t i : {0, 1, 2, 7, 8, 9}) ASSERT_EQ(g[i], before[i]);
    changed = changed || g != before;
  }
  EXPECT_TRUE(changed);
  Genome g = before;
  EXPECT_THROW(s::scramble_mutation_at(g, 4, 11, rng), std::invalid_argument);
  // N = 2: the slice is the whole genome; both orders occur.
  int swapped = 0;
  for (int t = 0; t < 1000; ++t) {
    Genome two = {0, 1};
    s::scramble_mutation(two, rng);
    swapped += (two == Genome{1, 0}) ? 1 : 0;
    ASSERT_TRUE((two == Genome{1, 0}) || (two == Genome{0, 1}));
  }
  EXPECT_NEAR(swapped, 500, 80);
  for (const Shape& shape : kShapes) {
    for (int t = 0; t < 300; ++t) {
      Genome r = s::random_genome(shape.n, rng);
      s::scramble_mutation(r, rng);
      ASSERT_TRUE(s::is_valid_permutation(r)) << shape.n;
    }
  }
}

TEST(SearchSelection, TournamentFollowsTheExactDistribution) {
  // Five distinct fitnesses; rank r (0 = best) wins a size-k tournament with
  // replacement with probability ((P - r) / P)^k - ((P - r - 1) / P)^k, so the
  // unique maximum wins with 1 - (1 - 1/P)^k = 0.488 for P = 5, k = 3.
  const std::vector<double> fitness = {0.2, 0.9, 0.1, 0.5, 0.7};
  const std::vector<int> rank = {3, 0, 4, 2, 1};
  const int p = 5, k = 3, draws = 100000;
  std::mt19937_64 rng(31);
  std::vector<int> wins(p, 0);
  for (int t = 0; t < draws; ++t) ++wins[s::tournament(fitness, k, rng)];
  EXPECT_NEAR(wins[1] / double(draws), 1.0 - std::pow(0.8, 3), 0.01);
  for (int i = 0; i < p; ++i) {
    const double expected = std::pow(double(p - rank[i]) / p, k) - std::pow(double(p - rank[i] - 1) / p, k);
    EXPECT_NEAR(wins[i] / double(draws), expected, 0.01) << "index " << i;
  }
}

TEST(SearchSelection, TournamentDeterministicCases) {
  std::mt19937_64 rng(41);
  EXPECT_THROW(s::tournament({}, 3, rng), std::invalid_argument);
  EXPECT_THROW(s::tournament({1.0}, 0, rng), std::invalid_argument);
  for (int t = 0; t < 50; ++t) {
    EXPECT_EQ(s::tournament({0.3}, 3, rng), 0u);
    // Ties go to the lower index: with 200 draws from 3, both tied indices are
    // drawn (the chance one is missed is (2/3)^200 ~ 1e-35, and the seed is fixed).
    EXPECT_EQ(s::tournament({0.1, 0.5, 0.5}, 200, rng), 1u);
    // NaN never beats a number.
    EXPECT_EQ(s::tournament({kNaN, 0.01, kNaN}, 200, rng), 1u);
    EXPECT_EQ(s::tournament({-1.0, -3.0}, 200, rng), 0u);  // higher is better
  }
  // k = 1 is a uniform draw.
  std::vector<int> wins(4, 0);
  for (int t = 0; t < 40000; ++t) ++wins[s::tournament({4.0, 3.0, 2.0, 1.0}, 1, rng)];
  for (int w : wins) EXPECT_NEAR(w, 10000, 450);
}

TEST(SearchSelection, EliteIndicesBestFirstTiesByIndex) {
  const std::vector<double> fitness = {0.3, 0.9, 0.5, 0.9, kNaN, 0.1};
  using V = std::vector<std::size_t>;
  EXPECT_EQ(s::elite_indices(fitness, 0), V{});
  EXPECT_EQ(s::elite_indices(fitness, 1), V{1});
  EXPECT_EQ(s::elite_indices(fitness, 4), (V{1, 3, 2, 0}));
  EXPECT_EQ(s::elite_indices(fitness, 6), (V{1, 3, 2, 0, 5, 4}));
  EXPECT_THROW(s::elite_indices(fitness, 7), std::invalid_argument);
  EXPECT_EQ(s::elite_indices({}, 0), V{});
}

TEST(SearchMeasures, PositionRecoveryHandExamples) {
  const Genome g = {3, 1, 0, 2, 4};
  EXPECT_DOUBLE_EQ(s::position_recovery(g, 3, Genome{3, 2, 0}), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s::position_recovery(g, 5, s::identity(5)), 2.0 / 5.0);  // slots 1 and 4
  EXPECT_DOUBLE_EQ(s::position_recovery(g, 2, Genome{3, 1, 9}), 1.0);  // truth beyond h is unused
  EXPECT_DOUBLE_EQ(s::position_recovery(g, 0, Genome{}), 0.0);
  EXPECT_DOUBLE_EQ(s::position_recovery(s::identity(4), 4, s::identity(4)), 1.0);
  EXPECT_THROW(s::position_recovery(g, 4, Genome{3, 2, 0}), std::invalid_argument);
  EXPECT_THROW(s::position_recovery(g, 6, s::identity(6)), std::invalid_argument);
}

TEST(SearchMeasures, DiversityHandExamples) {
  const Genome same = {2, 0, 1, 3};
  EXPECT_DOUBLE_EQ(s::diversity({same, same, same}, 4), 0.0);
  EXPECT_DOUBLE_EQ(s::diversity({}, 2), 0.0);
  EXPECT_DOUBLE_EQ(s::diversity({same}, 0), 0.0);
  // Slot 0 holds {0, 0, 0, 1}: 1 - 3/4; slot 1 holds four values: 1 - 1/4.
  const std::vector<Genome> pop = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 3, 2, 1}, {1, 0, 2, 3}};
  EXPECT_DOUBLE_EQ(s::diversity(pop, 1), 0.25);
  EXPECT_DOUBLE_EQ(s::diversity(pop, 2), 0.5);
  // Slot 2 holds {2, 1, 2, 2}: 1 - 3/4; mean of 0.25, 0.75, 0.25.
  EXPECT_DOUBLE_EQ(s::diversity(pop, 3), 1.25 / 3.0);
  // Only the held slots count: these differ in the empty tail alone.
  EXPECT_DOUBLE_EQ(s::diversity({{0, 1, 2, 3}, {0, 1, 3, 2}}, 2), 0.0);
  EXPECT_THROW(s::diversity({{0, 1, 2}, {0, 1}}, 2), std::invalid_argument);
  EXPECT_THROW(s::diversity(pop, 5), std::invalid_argument);
}

// Same seed, same results and the same engine state afterwards, for every
// random operator; a different seed gives a different genome.
TEST(SearchDeterminism, SameSeedSameResults) {
  auto run = [](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Genome> out;
    const Genome a = s::random_genome(20, rng);
    const Genome b = s::random_genome(20, rng);
    out.push_back(a);
    out.push_back(s::order_crossover(a, b, rng));
    out.push_back(s::pmx_crossover(a, b, rng));
    Genome g = a;
    s::swap_mutation(g, 7, rng);
    out.push_back(g);
    s::insert_mutation(g, rng);
    out.push_back(g);
    s::scramble_mutation(g, rng);
    out.push_back(g);
    const s::SwapMove m = s::random_swap_move(20, 7, rng);
    const std::vector<double> fitness = {0.4, 0.1, 0.8, 0.3};
    out.push_back({m.i, m.j, static_cast<std::int32_t>(s::tournament(fitness, 2, rng)),
                   static_cast<std::int32_t>(s::uniform_below(1000, rng))});
    return std::make_pair(out, rng);
  };
  const auto first = run(77);
  const auto again = run(77);
  EXPECT_EQ(first.first, again.first);
  EXPECT_EQ(first.second, again.second);
  EXPECT_NE(first.first.front(), run(78).first.front());
}

// Pinned values: the draws use only the engine's raw output (fixed by the
// standard), so these hold on every standard library; a change here means
// every earlier run's searches would no longer reproduce.
TEST(SearchDeterminism, PinnedValues) {
  std::mt19937_64 rng(2024);
  EXPECT_EQ(s::random_genome(8, rng), (Genome{1, 7, 3, 0, 4, 5, 2, 6}));
  EXPECT_EQ(s::uniform_below(1000000, rng), 871605u);
}
