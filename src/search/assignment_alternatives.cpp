#include "search/assignment_alternatives.hpp"

#include <dlib/optimization/max_cost_assignment.h>
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "search/assignment.hpp"

namespace tessera::search {

std::vector<std::int32_t> solve_assignment_dlib(const std::vector<double>& cost, std::int64_t rows, std::int64_t cols) {
  check_assignment_problem(cost, rows, cols);
  if (rows == 0) return {};
  const auto [low, high] = std::minmax_element(cost.begin(), cost.end());
  const double scale = *high > *low ? std::ldexp(1.0, 40) / (*high - *low) : 0.0;
  dlib::matrix<long> gain(cols, cols);
  gain = 0;  // rows [rows, cols): padding, every column worth the same
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j) gain(r, j) = std::lround((*high - cost[r * cols + j]) * scale);
  const auto assignment = dlib::max_cost_assignment(gain);
  return {assignment.begin(), assignment.begin() + rows};
}

std::vector<std::int32_t> solve_assignment_lemon(const std::vector<double>& cost, std::int64_t rows,
                                                 std::int64_t cols) {
  check_assignment_problem(cost, rows, cols);
  if (rows == 0) return {};
  using Graph = lemon::SmartDigraph;
  Graph graph;
  graph.reserveNode(static_cast<int>(rows + cols + 1));
  graph.reserveArc(static_cast<int>(rows * cols + cols));
  std::vector<Graph::Node> row(rows), column(cols);
  for (auto& n : row) n = graph.addNode();
  for (auto& n : column) n = graph.addNode();
  const auto sink = graph.addNode();
  std::vector<Graph::Arc> arcs(rows * cols);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j) arcs[r * cols + j] = graph.addArc(row[r], column[j]);
  for (std::int64_t j = 0; j < cols; ++j) graph.addArc(column[j], sink);
  // The maps come after the graph is built: LEMON gives an arc added later a
  // default value (capacity 0), not the map's.
  Graph::ArcMap<double> arc_cost(graph, 0.0);
  Graph::ArcMap<int> capacity(graph, 1);
  for (std::int64_t i = 0; i < rows * cols; ++i) arc_cost[arcs[i]] = cost[i];
  Graph::NodeMap<int> supply(graph, 0);
  for (auto& n : row) supply[n] = 1;
  supply[sink] = -static_cast<int>(rows);
  lemon::NetworkSimplex<Graph, int, double> simplex(graph);
  simplex.costMap(arc_cost).upperMap(capacity).supplyMap(supply);
  if (simplex.run() != lemon::NetworkSimplex<Graph, int, double>::OPTIMAL)
    throw std::runtime_error("assignment (LEMON): the network simplex found no optimal flow");
  std::vector<std::int32_t> assigned(rows, -1);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j)
      if (simplex.flow(arcs[r * cols + j]) > 0) assigned[r] = static_cast<std::int32_t>(j);
  return assigned;
}

}  // namespace tessera::search
