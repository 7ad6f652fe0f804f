// The project's random draws give the same values whichever standard library
// built tessera: known seeds give known values.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "core/rng.hpp"

namespace {

using namespace tessera;

TEST(Rng, EngineIsTheStandardOne) {
  // The C++ standard fixes the 10000th output of a default-constructed mt19937_64.
  Rng rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ULL);
}

TEST(Rng, DerivedSeedsAreKnown) {
  EXPECT_EQ(derive_seed(1, "placement", 0), 10376001526907363720ULL);
  EXPECT_NE(derive_seed(1, "placement", 0), derive_seed(1, "placement", 1));
  EXPECT_NE(derive_seed(1, "placement", 0), derive_seed(2, "placement", 0));
  EXPECT_NE(derive_seed(1, "placement", 0), derive_seed(1, "compromise", 0));
}

TEST(Rng, DrawsAreKnown) {
  auto rng = make_rng(1, "compromise", 2);
  const std::vector<std::uint64_t> expected = {993, 767, 836, 258, 366};
  for (auto value : expected) EXPECT_EQ(uniform_below(1000, rng), value);
  auto unit = make_rng(7, "trace-device-ids");
  EXPECT_DOUBLE_EQ(uniform_unit(unit), 0.246044655066603);
}

TEST(Rng, ShuffleIsKnown) {
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  auto rng = make_rng(42, "placement");
  tessera::shuffle(v.begin(), v.end(), rng);
  EXPECT_EQ(v, (std::vector<int>{6, 3, 1, 7, 2, 9, 4, 0, 5, 8}));
}

TEST(Rng, ShuffleIsUniformOverPermutations) {
  // All 6 orders of 3 items, each about 1/6 of 60000 shuffles (5 sigma is about 450).
  std::map<std::vector<int>, int> counts;
  auto rng = make_rng(3, "uniformity");
  for (int t = 0; t < 60000; ++t) {
    std::vector<int> v = {0, 1, 2};
    tessera::shuffle(v.begin(), v.end(), rng);
    ++counts[v];
  }
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [order, count] : counts) EXPECT_NEAR(count, 10000, 500);
}

TEST(Rng, BoundZeroIsRejected) {
  Rng rng(1);
  EXPECT_THROW(uniform_below(0, rng), std::invalid_argument);
  std::vector<int> none;
  tessera::shuffle(none.begin(), none.end(), rng);  // empty and single ranges draw nothing
  Rng untouched(1);
  EXPECT_EQ(rng(), untouched());
}

}  // namespace
