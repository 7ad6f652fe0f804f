// Two maintained solvers of the linear assignment problem, behind the interface of
// solve_assignment (search/assignment.hpp), so that `tessera bench assignment` can
// measure them against it on the same matrices. The searches use solve_assignment:
// it was the fastest at the attack's sizes (docs/DESIGN.md section 8.1).
//
// - dlib's max_cost_assignment (Hungarian method, O(n^3)) takes a square matrix of
//   integers: the costs are negated and scaled to 64-bit integers (2^40 steps over
//   their range, so the optimum found is optimal to 1e-12 of that range per row),
//   and a rectangular problem is padded to square with zero rows.
// - LEMON's network simplex solves it as a min-cost flow: rows supply one unit each,
//   arcs row -> column carry the cost, every column passes at most one unit on to a
//   sink that takes `rows` units. Costs stay double.
//
// Both: `cost` is rows x cols, row-major, rows <= cols, every entry finite;
// std::invalid_argument otherwise (the same checks as solve_assignment).
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::search {

std::vector<std::int32_t> solve_assignment_dlib(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols);
std::vector<std::int32_t> solve_assignment_lemon(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols);

}  // namespace tessera::search
