#include "search/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace tessera::search {

void check_assignment_problem(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || cols < rows || cols > std::numeric_limits<std::int32_t>::max() ||
      static_cast<std::int64_t>(cost.size()) != rows * cols)
    throw std::invalid_argument("assignment: a " + std::to_string(rows) + " x " + std::to_string(cols) +
                                " problem needs rows <= cols and rows x cols costs, got " +
                                std::to_string(cost.size()));
  for (double c : cost)
    if (!std::isfinite(c)) throw std::invalid_argument("assignment: a cost is not finite");
}

std::vector<std::int32_t> solve_assignment(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols) {
  check_assignment_problem(cost, rows, cols);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // Index 0 of the column arrays is a virtual column where each new row starts.
  // u, v: dual potentials of rows and columns (reduced cost c - u - v >= 0 on every
  // pair, 0 along the matching); owner[j]: the row in column j (0: free, rows
  // counted from 1); way[j]: the column before j on the shortest path.
  const std::int64_t n = rows, m = cols;
  std::vector<double> u(n + 1, 0), v(m + 1, 0), shortest(m + 1);
  std::vector<std::int64_t> owner(m + 1, 0), way(m + 1, 0);
  std::vector<char> done(m + 1);
  for (std::int64_t row = 1; row <= n; ++row) {
    owner[0] = row;
    std::int64_t j0 = 0;
    std::fill(shortest.begin(), shortest.end(), kInf);
    std::fill(done.begin(), done.end(), 0);
    do {  // grow the shortest-path tree until it reaches a free column
      done[j0] = 1;
      const std::int64_t i0 = owner[j0];
      const double* c = cost.data() + (i0 - 1) * m;
      double delta = kInf;
      std::int64_t j1 = 0;
      for (std::int64_t j = 1; j <= m; ++j) {
        if (done[j]) continue;
        const double reduced = c[j - 1] - u[i0] - v[j];
        if (reduced < shortest[j]) shortest[j] = reduced, way[j] = j0;
        if (shortest[j] < delta) delta = shortest[j], j1 = j;
      }
      for (std::int64_t j = 0; j <= m; ++j) {
        if (done[j]) u[owner[j]] += delta, v[j] -= delta;
        else shortest[j] -= delta;
      }
      j0 = j1;
    } while (owner[j0] != 0);
    do {  // flip the matching along the path
      const std::int64_t j1 = way[j0];
      owner[j0] = owner[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<std::int32_t> column(n);
  for (std::int64_t j = 1; j <= m; ++j)
    if (owner[j] != 0) column[owner[j] - 1] = static_cast<std::int32_t>(j - 1);
  return column;
}

double assignment_cost(const std::vector<double>& cost, std::int64_t cols, const std::vector<std::int32_t>& column) {
  double total = 0;
  for (std::size_t r = 0; r < column.size(); ++r) total += cost[r * cols + column[r]];
  return total;
}

}  // namespace tessera::search
