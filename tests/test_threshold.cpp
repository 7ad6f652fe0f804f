// The seed's granularity threshold (src/attack/threshold): P(clue) at hand-computed
// N, its monotonicity, the exact ties, the time condition, the smallest infeasible N
// (N - 1 feasible, N not), the search limit, input checks, and the seed's example.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "attack/threshold.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace attack = tessera::attack;

// Inputs whose time condition holds comfortably (1 x Pop x 1 <= 2 x 1e6 x 1), so
// the clue condition alone decides.
attack::ThresholdInputs clue_only(std::int64_t population) {
  attack::ThresholdInputs in;
  in.train_size = 1000000;
  in.epochs = 1;
  in.generations = 1;
  in.eval_size = 1;
  in.population = population;
  return in;
}

TEST(Threshold, PClueAtHandComputedN) {
  EXPECT_EQ(attack::p_clue(1), 1.0);                                      // one block: always in place
  EXPECT_NEAR(attack::p_clue(2), 0.5 * (1 - 1 / std::sqrt(2.0)), 1e-15);  // 0.1464...
  EXPECT_EQ(attack::p_clue(4), 1.0 / 32);                                 // (1/4)(1/2)^3
  EXPECT_NEAR(attack::p_clue(9), 256.0 / 59049, 1e-15);                   // (1/9)(2/3)^8
  EXPECT_NEAR(attack::p_clue(16), 14348907.0 / 17179869184.0, 1e-16);     // (1/16)(3/4)^15
  // Large N stays finite in log space: ln P ~ -sqrt(N) - ln N + 1/2.
  const long double big = attack::log_p_clue(1000000000000000);
  EXPECT_NEAR(static_cast<double>(big), -std::sqrt(1e15) - std::log(1e15) + 0.5, 1.0);
}

TEST(Threshold, PClueStrictlyDecreasing) {
  long double previous = attack::log_p_clue(1);
  for (std::int64_t n = 2; n <= 200000; ++n) {
    const long double current = attack::log_p_clue(n);
    ASSERT_LT(current, previous) << "N = " << n;
    previous = current;
  }
}

TEST(Threshold, ClueConditionExactAtTies) {
  EXPECT_TRUE(attack::clue_condition(1, 1));   // E = 1 x 1
  EXPECT_TRUE(attack::clue_condition(4, 32));  // E = 32/32 = 1 exactly
  EXPECT_FALSE(attack::clue_condition(4, 31));
  EXPECT_TRUE(attack::clue_condition(2, 7));   // 7 x 0.1464 = 1.025
  EXPECT_FALSE(attack::clue_condition(2, 6));  // 6 x 0.1464 = 0.879
}

TEST(Threshold, SmallestInfeasibleNHandChecked) {
  // Pop = 32: E(4) = 1 (feasible), E(5) = 32 (1/5)(1 - 1/sqrt 5)^4 = 0.5976 (not).
  auto r = attack::solve(clue_only(32));
  EXPECT_TRUE(r.time.holds);
  EXPECT_EQ(r.clue_limit, 5);
  EXPECT_EQ(r.smallest_infeasible, 5);
  EXPECT_TRUE(attack::clue_condition(4, 32));
  EXPECT_FALSE(attack::clue_condition(5, 32));
  EXPECT_NEAR(std::exp(static_cast<double>(attack::log_expected_clues(5, 32))), 0.5975983, 1e-6);
  // Pop = 100: E(6) = 100 (1/6)(1 - 1/sqrt 6)^5 = 1.2093, E(7) = 100 (1/7)(1 - 1/sqrt 7)^6 = 0.8275.
  r = attack::solve(clue_only(100));
  EXPECT_EQ(r.smallest_infeasible, 7);
  EXPECT_NEAR(std::exp(static_cast<double>(attack::log_expected_clues(6, 100))), 1.2093343, 1e-6);
  EXPECT_NEAR(std::exp(static_cast<double>(attack::log_expected_clues(7, 100))), 0.8275478, 1e-6);
  // Pop = 1: only N = 1 is feasible; Pop = 10: N = 2 (E = 1.464) feasible, N = 3 (0.595) not.
  EXPECT_EQ(attack::solve(clue_only(1)).smallest_infeasible, 2);
  EXPECT_EQ(attack::solve(clue_only(10)).smallest_infeasible, 3);
  // Against a plain scan for many populations: N - 1 feasible, N not.
  for (std::int64_t pop = 1; pop <= 5000; pop += 7) {
    const auto limit = attack::solve(clue_only(pop)).clue_limit;
    ASSERT_GT(limit, 1) << "Pop = " << pop;
    ASSERT_TRUE(attack::clue_condition(limit - 1, pop)) << "Pop = " << pop;
    ASSERT_FALSE(attack::clue_condition(limit, pop)) << "Pop = " << pop;
  }
}

TEST(Threshold, TimeCondition) {
  attack::ThresholdInputs in;  // 2 Size(Tr) Ep = 2 x 50000 x 100 = 1e7
  in.generations = 1000;       // gen Pop Size(Ev) = 1000 x 100 x 100 = 1e7: equal, holds
  auto r = attack::solve(in);
  EXPECT_EQ(r.time.attack, 1e7L);
  EXPECT_EQ(r.time.train, 1e7L);
  EXPECT_TRUE(r.time.holds);
  EXPECT_EQ(r.smallest_infeasible, 7);
  in.generations = 1001;  // one generation more: slower than training for every N
  r = attack::solve(in);
  EXPECT_FALSE(r.time.holds);
  EXPECT_EQ(r.smallest_infeasible, 1);
  EXPECT_EQ(r.clue_limit, 7);  // still reported
  // The largest inputs allowed compare exactly (1e36 vs 2e24, no overflow).
  attack::ThresholdInputs huge{attack::kMaxCount, attack::kMaxCount, attack::kMaxCount,
                               attack::kMaxCount, attack::kMaxCount, attack::kMaxN};
  EXPECT_THAT(attack::invalid_input(huge), IsEmpty());
  r = attack::solve(huge);
  EXPECT_FALSE(r.time.holds);
  EXPECT_NEAR(static_cast<double>(r.time.attack), 1e36, 1e21);
  EXPECT_GT(r.clue_limit, 1);
}

TEST(Threshold, SearchLimit) {
  auto in = clue_only(100);
  in.max_n = 6;  // E >= 1 for every N <= 6
  EXPECT_EQ(attack::solve(in).clue_limit, 0);
  EXPECT_EQ(attack::solve(in).smallest_infeasible, 0);
  in.max_n = 7;
  EXPECT_EQ(attack::solve(in).smallest_infeasible, 7);
  in.max_n = 1;
  EXPECT_EQ(attack::solve(in).smallest_infeasible, 0);
  in.generations = 1000000000;  // time fails: N = 1 is infeasible whatever the limit
  EXPECT_EQ(attack::solve(in).smallest_infeasible, 1);
}

TEST(Threshold, InvalidInputNamesTheOption) {
  attack::ThresholdInputs in;
  EXPECT_THAT(attack::invalid_input(in), IsEmpty());
  in.population = -3;
  EXPECT_THAT(attack::invalid_input(in), HasSubstr("--threshold.population: must be in [1, 1e12], got -3"));
  in = {};
  in.eval_size = 0;
  EXPECT_THAT(attack::invalid_input(in), HasSubstr("--threshold.eval_size"));
  in = {};
  in.train_size = -1;
  EXPECT_THAT(attack::invalid_input(in), HasSubstr("--threshold.train_size"));
  in = {};
  in.epochs = attack::kMaxCount + 1;
  EXPECT_THAT(attack::invalid_input(in), HasSubstr("--threshold.epochs"));
  in = {};
  in.max_n = 0;
  EXPECT_THAT(attack::invalid_input(in), HasSubstr("--threshold.max_n"));
}

TEST(Threshold, SeedExample) {
  const auto s = attack::seed_example();
  EXPECT_EQ(s.blocks, 1568);  // 16 x 98
  // The seed's own expression (1/1568)(15/16)^155.
  EXPECT_NEAR(s.paper_p_clue, 2.8853718e-8, 1e-14);
  EXPECT_NEAR(s.paper_expected_pop, 2.8853718e-6, 1e-12);
  EXPECT_NEAR(s.paper_expected_pop10, 2.8853718e-7, 1e-13);
  // The printed 0.000452 is 10 (15/16)^155, not Pop P(clue).
  EXPECT_NEAR(s.ten_times_base, 4.524263e-4, 1e-9);
  EXPECT_NEAR(s.ten_times_base, s.paper_expected, 5e-7);
  EXPECT_GT(std::abs(s.paper_expected_pop - s.paper_expected), 4e-4);
  // The formula at N = 1568: (1/1568)(1 - 1/sqrt 1568)^1567 = 2.4986e-21.
  EXPECT_NEAR(std::exp(static_cast<double>(s.formula_log_p_clue)) / 2.4986448e-21, 1.0, 1e-6);
  EXPECT_NEAR(std::exp(static_cast<double>(s.formula_log_expected)) / 2.4986448e-19, 1.0, 1e-6);
  // Time: 10000 x 100 x 100 = 1e8 against 2 x 50000 x 100 = 1e7.
  EXPECT_DOUBLE_EQ(s.formula_ratio, 10.0);
  EXPECT_FALSE(s.solved.time.holds);
  EXPECT_EQ(s.solved.smallest_infeasible, 1);
  EXPECT_EQ(s.solved.clue_limit, 7);
  EXPECT_NEAR(s.talk_attack_minutes / s.talk_train_minutes, 33.333, 1e-3);
}

TEST(Threshold, FormatFromLog) {
  EXPECT_EQ(attack::format_from_log(std::log(2.5e-21L)), "2.500e-21");
  EXPECT_EQ(attack::format_from_log(std::log(0.000452L), 3), "4.52e-04");
  // Beyond a double: ln x = -1e6 gives x = 10^-434294.48... = 3.3e-434295.
  EXPECT_THAT(attack::format_from_log(-1e6L, 2), ::testing::EndsWith("e-434295"));
  EXPECT_THAT(attack::format_from_log(-1e6L, 2), ::testing::StartsWith("3.3"));
}

attack::AttackRun run_at(std::int64_t blocks, double recovery) {
  attack::AttackRun r;
  r.blocks = blocks;
  r.recovery = recovery;
  return r;
}

TEST(MeasuredThreshold, SmallestGranularityNoRunBroke) {
  // N = 16 broken by one of two runs, 64 by its only run, 256 by none.
  const std::vector<attack::AttackRun> runs{run_at(64, 0.6), run_at(16, 0.2), run_at(256, 0.3), run_at(16, 1.0)};
  const auto m = attack::measure_threshold(runs, 0.5);
  ASSERT_EQ(m.granularities.size(), 3u);
  EXPECT_EQ(m.granularities[0].blocks, 16);
  EXPECT_EQ(m.granularities[0].runs, (std::vector<std::size_t>{1, 3}));
  EXPECT_DOUBLE_EQ(m.granularities[0].best_recovery, 1.0);
  EXPECT_TRUE(m.granularities[1].broken);
  EXPECT_FALSE(m.granularities[2].broken);
  EXPECT_EQ(m.smallest_unbroken, 256);
  EXPECT_EQ(m.largest_broken_below, 64);
  EXPECT_TRUE(m.broken_above.empty());
  // The criterion is inclusive: 0.6 breaks N = 64 at 0.6, not at 0.61.
  EXPECT_EQ(attack::measure_threshold(runs, 0.6).smallest_unbroken, 256);
  EXPECT_EQ(attack::measure_threshold(runs, 0.61).smallest_unbroken, 64);
}

TEST(MeasuredThreshold, NothingBrokenEverythingBrokenAndOutOfOrder) {
  auto none = attack::measure_threshold({run_at(16, 0.1), run_at(64, 0.0)}, 0.5);
  EXPECT_EQ(none.smallest_unbroken, 16);
  EXPECT_EQ(none.largest_broken_below, 0);
  auto all = attack::measure_threshold({run_at(16, 0.9), run_at(64, 0.7)}, 0.5);
  EXPECT_EQ(all.smallest_unbroken, 0);
  EXPECT_EQ(all.largest_broken_below, 64);
  auto odd = attack::measure_threshold({run_at(16, 0.9), run_at(64, 0.1), run_at(256, 0.8), run_at(1024, 0.7)}, 0.5);
  EXPECT_EQ(odd.smallest_unbroken, 64);
  EXPECT_EQ(odd.largest_broken_below, 16);
  EXPECT_EQ(odd.broken_above, (std::vector<std::int64_t>{256, 1024}));
}

}  // namespace
