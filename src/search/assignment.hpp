// The linear assignment problem: give each of `rows` items its own column so that
// the summed cost is least. The adversary's assignment-based searches
// (docs/DESIGN.md section 8) put H held blocks on N >= H grid positions this way.
//
// Solved exactly by shortest augmenting paths with dual potentials (Jonker and
// Volgenant's scheme, in its rectangular form: one Dijkstra-like pass per row over
// all columns), O(rows^2 x cols) time and O(rows + cols) extra memory. Pure std C++.
// Ties are broken towards the lower column, so the result is a deterministic
// function of the matrix.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::search {

// `cost` is rows x cols, row-major, with rows <= cols and every entry finite.
// Returns column[r] for r < rows: distinct columns, of least total cost.
// std::invalid_argument on a bad shape or a non-finite entry.
std::vector<std::int32_t> solve_assignment(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols);

// The checks of solve_assignment (and of the solvers it is measured against):
// std::invalid_argument on a bad shape or a non-finite entry.
void check_assignment_problem(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols);

// The same problem when each row may take only some columns (its candidates, e.g. the
// k of least cost): row r's candidates are columns[offsets[r] .. offsets[r+1]) with
// costs cost[...] (finite; offsets has rows + 1 entries). Shortest augmenting paths
// over the candidate edges only (Dijkstra with a heap, dual potentials updated once
// per path), so time and memory follow the number of candidates, not rows x cols.
// Returns column[r], or -1 for a row that no augmenting path within the candidates
// can place (the caller places those elsewhere). When every row is placed, the total
// cost is least among assignments that use candidate edges only; otherwise the placed
// rows are a least-cost matching of themselves. Deterministic (ties: the lower column).
// `max_settled` (> 0) bounds each row's search: a row whose search settles that
// many columns without reaching a free one is left out too (degenerate costs, many
// rows wanting the same few columns, would otherwise make every search walk the
// whole matching); the placed rows are then no longer guaranteed least-cost.
std::vector<std::int32_t> solve_sparse_assignment(const std::vector<std::int64_t>& offsets,
                                                  const std::vector<std::int32_t>& columns,
                                                  const std::vector<double>& cost, std::int64_t cols,
                                                  std::int64_t max_settled = 0);

// The summed cost of an assignment (the tests' and the callers' check).
double assignment_cost(const std::vector<double>& cost, std::int64_t cols, const std::vector<std::int32_t>& column);

}  // namespace tessera::search
