// The linear assignment solver (search/assignment.hpp) and the two it is measured
// against (search/assignment_alternatives.hpp): least cost equal to brute force on
// every small shape (ties common), a hidden map found at the attack's size, bad
// problems refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "search/assignment.hpp"
#include "search/assignment_alternatives.hpp"
#include "search/operators.hpp"

namespace s = tessera::search;

namespace {

// The least cost over every injective map of rows into columns.
double brute_force_assignment(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols) {
  std::vector<std::int32_t> columns(cols);
  std::iota(columns.begin(), columns.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {  // every permutation of the columns; its first `rows` entries are a map
    std::vector<std::int32_t> pick(columns.begin(), columns.begin() + rows);
    best = std::min(best, s::assignment_cost(cost, cols, pick));
  } while (std::next_permutation(columns.begin(), columns.end()));
  return best;
}

}  // namespace

using Solve = std::vector<std::int32_t> (*)(const std::vector<double>&, std::int64_t, std::int64_t);

class EverySolver : public ::testing::TestWithParam<Solve> {};

INSTANTIATE_TEST_SUITE_P(Assignment, EverySolver,
                         ::testing::Values(&s::solve_assignment, &s::solve_assignment_dlib,
                                           &s::solve_assignment_lemon),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "tessera" : info.index == 1 ? "dlib" : "lemon");
                         });

TEST_P(EverySolver, LeastCostAgreesWithBruteForce) {
  const Solve solve = GetParam();
  auto rng = tessera::make_rng(11, "test-assignment");
  int cases = 0;
  for (std::int64_t cols = 1; cols <= 7; ++cols) {
    for (std::int64_t rows = 0; rows <= cols; ++rows) {
      for (int repeat = 0; repeat < 20; ++repeat, ++cases) {
        std::vector<double> cost(rows * cols);
        // Half the cases draw small integers, so that ties are common.
        for (auto& c : cost)
          c = repeat % 2 ? static_cast<double>(s::uniform_below(4, rng)) : s::uniform_unit(rng) * 10 - 5;
        const auto column = solve(cost, rows, cols);
        ASSERT_EQ(static_cast<std::int64_t>(column.size()), rows);
        std::vector<char> used(cols, 0);
        for (auto j : column) {
          ASSERT_TRUE(j >= 0 && j < cols);
          ASSERT_FALSE(used[j]) << "column " << j << " given twice";
          used[j] = 1;
        }
        // dlib works on costs rounded to 2^-40 of their range (10 here).
        EXPECT_NEAR(s::assignment_cost(cost, cols, column), brute_force_assignment(cost, rows, cols), 1e-9)
            << rows << " x " << cols << ", case " << repeat;
      }
    }
  }
  EXPECT_EQ(cases, 700);
}

TEST_P(EverySolver, RefusesBadProblems) {
  const Solve solve = GetParam();
  EXPECT_THROW(solve({1, 2, 3, 4, 5, 6}, 3, 2), std::invalid_argument);  // rows > cols
  EXPECT_THROW(solve({1, 2, 3}, 2, 2), std::invalid_argument);           // too few costs
  EXPECT_THROW(solve({1, std::nan(""), 3, 4}, 2, 2), std::invalid_argument);
  EXPECT_TRUE(solve({}, 0, 3).empty());
}

TEST(Assignment, TheThreeSolversAgreeAtTheAttacksSize) {
  // 157 x 1568 uniform costs: the three optima have the same cost (dlib's up to its
  // rounding of the costs).
  const std::int64_t rows = 157, cols = 1568;
  auto rng = tessera::make_rng(5, "test-assignment-three");
  std::vector<double> cost(rows * cols);
  for (auto& c : cost) c = s::uniform_unit(rng);
  const double ours = s::assignment_cost(cost, cols, s::solve_assignment(cost, rows, cols));
  EXPECT_NEAR(s::assignment_cost(cost, cols, s::solve_assignment_dlib(cost, rows, cols)), ours, 1e-9);
  EXPECT_NEAR(s::assignment_cost(cost, cols, s::solve_assignment_lemon(cost, rows, cols)), ours, 1e-9);
  // Far below a random assignment's 157 x 0.5 (each row finds a column near 0).
  EXPECT_LT(ours, 0.05 * rows);
}

TEST(Assignment, FindsAHiddenPermutationAndIsDeterministic) {
  // Cost 0 on a hidden map, 1 elsewhere: the only optimum is the map itself.
  const std::int64_t rows = 157, cols = 1568;
  auto rng = tessera::make_rng(3, "test-assignment-hidden");
  const auto hidden = s::random_genome(static_cast<std::int32_t>(cols), rng);
  std::vector<double> cost(rows * cols, 1.0);
  for (std::int64_t r = 0; r < rows; ++r) cost[r * cols + hidden[r]] = 0.0;
  const auto column = s::solve_assignment(cost, rows, cols);
  for (std::int64_t r = 0; r < rows; ++r) ASSERT_EQ(column[r], hidden[r]) << "row " << r;
  EXPECT_EQ(s::solve_assignment(cost, rows, cols), column);
}


namespace {

// Every column a candidate of every row: the sparse problem is the dense one.
struct Candidates {
  std::vector<std::int64_t> offsets;
  std::vector<std::int32_t> columns;
  std::vector<double> cost;
};
Candidates all_candidates(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols) {
  Candidates c{{0}, {}, {}};
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int32_t j = 0; j < cols; ++j) c.columns.push_back(j), c.cost.push_back(cost[r * cols + j]);
    c.offsets.push_back(static_cast<std::int64_t>(c.columns.size()));
  }
  return c;
}

}  // namespace

TEST(SparseAssignment, WithEveryColumnACandidateItIsTheDenseOptimum) {
  auto rng = tessera::make_rng(12, "test-sparse-assignment");
  for (std::int64_t cols = 1; cols <= 7; ++cols)
    for (std::int64_t rows = 0; rows <= cols; ++rows)
      for (int repeat = 0; repeat < 20; ++repeat) {
        std::vector<double> cost(rows * cols);
        for (auto& c : cost)
          c = repeat % 2 ? static_cast<double>(s::uniform_below(4, rng)) : s::uniform_unit(rng) * 10 - 5;
        const auto c = all_candidates(cost, rows, cols);
        const auto column = s::solve_sparse_assignment(c.offsets, c.columns, c.cost, cols);
        ASSERT_EQ(static_cast<std::int64_t>(column.size()), rows);
        std::vector<char> used(cols, 0);
        for (auto j : column) {
          ASSERT_GE(j, 0);
          ASSERT_FALSE(used[j]) << "column " << j << " taken twice";
          used[j] = 1;
        }
        EXPECT_NEAR(s::assignment_cost(cost, cols, column), brute_force_assignment(cost, rows, cols), 1e-9)
            << rows << " x " << cols << ", repeat " << repeat;
      }
}

TEST(SparseAssignment, TopCandidatesReachTheDenseOptimumAtTheAttacksSize) {
  // 300 blocks on 3000 positions, each block's 32 cheapest positions: a hidden map
  // (cost -1 plus noise) and noise elsewhere, as correlations look.
  auto rng = tessera::make_rng(13, "test-sparse-assignment");
  const std::int64_t rows = 300, cols = 3000, k = 32;
  std::vector<double> cost(rows * cols);
  for (auto& c : cost) c = s::uniform_unit(rng);
  for (std::int64_t r = 0; r < rows; ++r) cost[r * cols + (r * 7) % cols] -= 0.5 + s::uniform_unit(rng);
  Candidates c{{0}, {}, {}};
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<std::int32_t> order(cols);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](auto a, auto b) { return cost[r * cols + a] < cost[r * cols + b]; });
    for (std::int64_t i = 0; i < k; ++i) c.columns.push_back(order[i]), c.cost.push_back(cost[r * cols + order[i]]);
    c.offsets.push_back(static_cast<std::int64_t>(c.columns.size()));
  }
  const auto sparse = s::solve_sparse_assignment(c.offsets, c.columns, c.cost, cols);
  const auto dense = s::solve_assignment(cost, rows, cols);
  EXPECT_NEAR(s::assignment_cost(cost, cols, sparse), s::assignment_cost(cost, cols, dense), 1e-9);
  EXPECT_EQ(sparse, s::solve_sparse_assignment(c.offsets, c.columns, c.cost, cols));  // deterministic
}

TEST(SparseAssignment, ARowItsCandidatesCannotPlaceIsLeftOut) {
  // Rows 0 and 1 both want only column 0; row 2 has no candidate at all.
  const std::vector<std::int64_t> offsets{0, 1, 2, 2};
  const std::vector<std::int32_t> columns{0, 0};
  const std::vector<double> cost{1.0, 0.5};
  const auto column = s::solve_sparse_assignment(offsets, columns, cost, 3);
  EXPECT_EQ(column, (std::vector<std::int32_t>{0, -1, -1}));
}

TEST(SparseAssignment, RefusesBadProblems) {
  EXPECT_THROW(s::solve_sparse_assignment({0, 1}, {3}, {0.0}, 3), std::invalid_argument);       // column out of range
  EXPECT_THROW(s::solve_sparse_assignment({0, 1}, {0}, {NAN}, 3), std::invalid_argument);       // not finite
  EXPECT_THROW(s::solve_sparse_assignment({0, 2}, {0}, {0.0}, 3), std::invalid_argument);       // offsets past the end
  EXPECT_THROW(s::solve_sparse_assignment({0, 0, 0, 0}, {}, {}, 2), std::invalid_argument);     // more rows than columns
}

TEST(SparseAssignment, ABoundedSearchLeavesOutWhatItCannotPlaceInTime) {
  // Every row wants the same three columns: unbounded, three rows are placed; with at
  // most one column settled per search, a row that finds its best column taken stops.
  const std::int64_t rows = 5;
  std::vector<std::int64_t> offsets{0};
  std::vector<std::int32_t> columns;
  std::vector<double> cost;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int32_t j = 0; j < 3; ++j) columns.push_back(j), cost.push_back(j);
    offsets.push_back(static_cast<std::int64_t>(columns.size()));
  }
  auto placed = [](const std::vector<std::int32_t>& c) { return std::count_if(c.begin(), c.end(), [](auto j) { return j >= 0; }); };
  EXPECT_EQ(placed(s::solve_sparse_assignment(offsets, columns, cost, 8)), 3);
  const auto bounded = s::solve_sparse_assignment(offsets, columns, cost, 8, 1);
  EXPECT_EQ(bounded[0], 0);
  EXPECT_EQ(placed(bounded), 1);
}
