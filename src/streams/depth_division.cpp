// The depth eavesdropper (streams/division.hpp): breadth-first levels from the input.
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/visitors.hpp>

#include <algorithm>

#include "core/error.hpp"
#include "streams/division.hpp"

namespace tessera::streams {

DepthDivision divide_by_depth(const DeviceGraph& graph, std::int64_t origin, bool against_arcs) {
  TESSERA_REQUIRE(origin >= 0 && origin < graph.vertices, "device graph: origin ", origin, " is not a device of 0..",
                  graph.vertices - 1);
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  Graph g(graph.vertices);
  for (const auto& [u, v] : graph.arcs) {
    TESSERA_REQUIRE(u >= 0 && u < graph.vertices && v >= 0 && v < graph.vertices, "device graph: stream ", u, " -> ",
                    v, " names a device outside 0..", graph.vertices - 1);
    if (against_arcs)
      boost::add_edge(v, u, g);
    else
      boost::add_edge(u, v, g);
  }
  DepthDivision division;
  division.depth.assign(graph.vertices, -1);
  division.depth[origin] = 0;
  auto depth = boost::make_iterator_property_map(division.depth.begin(), boost::get(boost::vertex_index, g));
  boost::breadth_first_search(
      g, boost::vertex(origin, g),
      boost::visitor(boost::make_bfs_visitor(boost::record_distances(depth, boost::on_tree_edge()))));
  const std::int64_t deepest = graph.vertices ? *std::max_element(division.depth.begin(), division.depth.end()) : -1;
  // Depths that occur, numbered in order; a depth's only vertex is a pivot.
  std::vector<std::int64_t> members(deepest + 1, 0), number(deepest + 1, -1);
  for (auto d : division.depth)
    if (d >= 0) ++members[d];
  for (std::int64_t d = 0; d <= deepest; ++d)
    if (members[d] > 0) number[d] = division.groups++;
  division.group.assign(graph.vertices, -1);
  for (std::int64_t v = 0; v < graph.vertices; ++v)
    if (division.depth[v] >= 0) division.group[v] = number[division.depth[v]];
  for (std::int64_t v = 0; v < graph.vertices; ++v)
    if (division.depth[v] >= 0 && members[division.depth[v]] == 1) division.pivots.push_back(v);
  std::sort(division.pivots.begin(), division.pivots.end(),
            [&](auto a, auto b) { return division.depth[a] < division.depth[b]; });
  return division;
}

}  // namespace tessera::streams
