#include "search/assignment.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
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

std::vector<std::int32_t> solve_sparse_assignment(const std::vector<std::int64_t>& offsets,
                                                  const std::vector<std::int32_t>& columns,
                                                  const std::vector<double>& cost, std::int64_t cols,
                                                  std::int64_t max_settled) {
  const std::int64_t rows = static_cast<std::int64_t>(offsets.size()) - 1;
  if (rows < 0 || rows > cols || cols > std::numeric_limits<std::int32_t>::max() || offsets.front() != 0 ||
      offsets.back() != static_cast<std::int64_t>(columns.size()) || columns.size() != cost.size())
    throw std::invalid_argument("sparse assignment: offsets, columns and costs do not describe " +
                                std::to_string(rows) + " rows of candidates among " + std::to_string(cols) + " columns");
  for (std::int64_t r = 0; r < rows; ++r)
    if (offsets[r + 1] < offsets[r]) throw std::invalid_argument("sparse assignment: offsets must not decrease");
  for (std::size_t e = 0; e < columns.size(); ++e) {
    if (columns[e] < 0 || columns[e] >= cols) throw std::invalid_argument("sparse assignment: a column out of range");
    if (!std::isfinite(cost[e])) throw std::invalid_argument("sparse assignment: a cost is not finite");
  }
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // Reduced cost of edge (r, c): cost - u[r] - v[c], >= 0 on every candidate edge
  // of a row seen so far and 0 on the matched ones.
  std::vector<double> u(rows, 0), v(cols, 0), dist(cols, kInf);
  std::vector<std::int32_t> column(rows, -1), owner(cols, -1), via(cols, -1);  // via: the row that reached c
  std::vector<char> final(cols, 0);
  std::vector<std::int32_t> touched;  // columns whose dist was set in this row's search
  using Entry = std::pair<double, std::int32_t>;  // (distance, column): the heap pops the lower column on ties
  for (std::int64_t s = 0; s < rows; ++s) {
    if (offsets[s] == offsets[s + 1]) continue;  // no candidate: left out
    double low = kInf;
    for (auto e = offsets[s]; e < offsets[s + 1]; ++e) low = std::min(low, cost[e] - v[columns[e]]);
    u[s] = low;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    auto relax = [&](std::int64_t r, double base) {
      for (auto e = offsets[r]; e < offsets[r + 1]; ++e) {
        const auto c = columns[e];
        if (final[c]) continue;
        const double d = base + std::max(0.0, cost[e] - u[r] - v[c]);  // >= 0 up to round-off
        if (d < dist[c] || (d == dist[c] && via[c] > r)) {
          if (dist[c] == kInf) touched.push_back(c);
          dist[c] = d;
          via[c] = static_cast<std::int32_t>(r);
          heap.emplace(d, c);
        }
      }
    };
    relax(s, 0);
    std::int32_t free_column = -1;
    std::vector<std::int32_t> finalised;
    while (!heap.empty()) {
      const auto [d, c] = heap.top();
      heap.pop();
      if (final[c] || d > dist[c]) continue;  // a stale entry
      final[c] = 1;
      finalised.push_back(c);
      if (owner[c] < 0) {
        free_column = c;
        break;
      }
      if (max_settled > 0 && static_cast<std::int64_t>(finalised.size()) >= max_settled) break;  // left out
      relax(owner[c], d);
    }
    if (free_column >= 0) {
      const double total = dist[free_column];
      for (auto c : finalised) {  // keeps every reduced cost >= 0 and the matched ones 0
        const double delta = total - dist[c];
        v[c] -= delta;
        if (owner[c] >= 0) u[owner[c]] += delta;
      }
      u[s] += total;
      for (std::int32_t c = free_column; c >= 0;) {  // flip the matching along the path
        const auto r = via[c];
        const auto previous = column[r];
        column[r] = c;
        owner[c] = r;
        c = r == s ? -1 : previous;
      }
    }
    for (auto c : touched) dist[c] = kInf, via[c] = -1, final[c] = 0;
    touched.clear();
  }
  return column;
}

}  // namespace tessera::search
