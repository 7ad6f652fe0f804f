#include "streams/division.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <boost/graph/strong_components.hpp>
#include <boost/graph/topological_sort.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <numeric>

#include "core/error.hpp"

namespace tessera::streams {

namespace {

using Plain = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;

void check(const DeviceGraph& graph) {
  TESSERA_REQUIRE(graph.vertices >= 0, "device graph: ", graph.vertices, " vertices");
  for (const auto& [u, v] : graph.arcs)
    TESSERA_REQUIRE(u >= 0 && u < graph.vertices && v >= 0 && v < graph.vertices, "device graph: stream ", u, " -> ",
                    v, " names a device outside 0..", graph.vertices - 1);
}

// Successors per vertex (compressed rows), repeats and self-loops dropped.
struct Adjacency {
  std::vector<std::int64_t> begin, next;
  explicit Adjacency(const DeviceGraph& graph) : begin(graph.vertices + 1, 0) {
    auto arcs = graph.arcs;
    std::sort(arcs.begin(), arcs.end());
    arcs.erase(std::unique(arcs.begin(), arcs.end()), arcs.end());
    for (const auto& [u, v] : arcs)
      if (u != v) ++begin[u + 1];
    std::partial_sum(begin.begin(), begin.end(), begin.begin());
    next.reserve(begin.back());
    for (const auto& [u, v] : arcs)
      if (u != v) next.push_back(v);
  }
};

// The s-t vertex connectivity and the vertices in some minimum vertex cut.
std::pair<std::int64_t, std::vector<std::int64_t>> minimum_cut_vertices(const Adjacency& adjacency,
                                                                        std::int64_t entry, std::int64_t exit) {
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using Flow = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS, boost::no_property,
      boost::property<boost::edge_capacity_t, long,
                      boost::property<boost::edge_residual_capacity_t, long,
                                      boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;
  const auto n = static_cast<std::int64_t>(adjacency.begin.size()) - 1;
  const long unbounded = static_cast<long>(n) + 1;  // more than any vertex cut
  Flow flow(2 * n);
  auto capacity = boost::get(boost::edge_capacity, flow);
  auto reverse = boost::get(boost::edge_reverse, flow);
  std::vector<Traits::edge_descriptor> split(n);
  auto add = [&](std::int64_t from, std::int64_t to, long c) {
    const auto forward = boost::add_edge(from, to, flow).first, back = boost::add_edge(to, from, flow).first;
    capacity[forward] = c;
    capacity[back] = 0;
    reverse[forward] = back;
    reverse[back] = forward;
    return forward;
  };
  // Vertex v is in = 2v, out = 2v + 1: a path through v uses its capacity-1 arc.
  for (std::int64_t v = 0; v < n; ++v) split[v] = add(2 * v, 2 * v + 1, v == entry || v == exit ? unbounded : 1);
  for (std::int64_t u = 0; u < n; ++u)
    for (auto i = adjacency.begin[u]; i < adjacency.begin[u + 1]; ++i) add(2 * u + 1, 2 * adjacency.next[i], unbounded);
  const long k = boost::push_relabel_max_flow(flow, 2 * entry, 2 * exit + 1);
  if (k >= unbounded) return {-1, {}};
  // Picard-Queyranne: a saturated arc lies in some minimum cut exactly when the
  // residual graph has no path from its tail to its head (they differ in component).
  auto residual = boost::get(boost::edge_residual_capacity, flow);
  Plain left(2 * n);
  for (auto [e, end] = boost::edges(flow); e != end; ++e)
    if (residual[*e] > 0) boost::add_edge(boost::source(*e, flow), boost::target(*e, flow), left);
  std::vector<int> component(2 * n);
  boost::strong_components(left, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, left)));
  std::vector<std::int64_t> cut;
  for (std::int64_t v = 0; v < n; ++v)
    if (v != entry && v != exit && residual[split[v]] == 0 && component[2 * v] != component[2 * v + 1]) cut.push_back(v);
  return {k, cut};
}

// Numbers the groups 0, 1, ... in order of first appearance along `order`.
void renumber(Division& division, const std::vector<std::int64_t>& order) {
  std::map<std::int64_t, std::int64_t> index;
  for (auto v : order) {
    auto& g = division.group[v];
    if (g < 0) continue;
    const auto [at, added] = index.emplace(g, static_cast<std::int64_t>(index.size()));
    g = at->second;
  }
  division.groups = static_cast<std::int64_t>(index.size());
}

}  // namespace

std::int64_t on_a_cycle(const DeviceGraph& graph) {
  check(graph);
  const Adjacency adjacency(graph);
  std::vector<std::int64_t> in(graph.vertices, 0), ready;
  for (auto v : adjacency.next) ++in[v];
  for (std::int64_t v = 0; v < graph.vertices; ++v)
    if (in[v] == 0) ready.push_back(v);
  while (!ready.empty()) {
    const auto u = ready.back();
    ready.pop_back();
    for (auto i = adjacency.begin[u]; i < adjacency.begin[u + 1]; ++i)
      if (--in[adjacency.next[i]] == 0) ready.push_back(adjacency.next[i]);
  }
  for (std::int64_t v = 0; v < graph.vertices; ++v)
    if (in[v] > 0) return v;
  return -1;
}

SequentialDivision divide_sequential(const DeviceGraph& graph, std::int64_t entry, std::int64_t exit,
                                     const std::vector<double>& first_seen) {
  check(graph);
  const auto n = graph.vertices;
  TESSERA_REQUIRE(entry >= 0 && entry < n && exit >= 0 && exit < n && entry != exit,
                  "device graph: entry ", entry, " and exit ", exit, " must be two devices of 0..", n - 1);
  TESSERA_REQUIRE(static_cast<std::int64_t>(first_seen.size()) == n, "device graph: ", first_seen.size(),
                  " first-seen times for ", n, " devices");
  SequentialDivision division;
  const Adjacency adjacency(graph);
  auto [k, cut] = minimum_cut_vertices(adjacency, entry, exit);
  division.connectivity = k;
  division.pivots = {entry};
  division.pivots.insert(division.pivots.end(), cut.begin(), cut.end());
  division.pivots.push_back(exit);
  std::stable_sort(division.pivots.begin() + 1, division.pivots.end() - 1,
                   [&](auto a, auto b) { return first_seen[a] < first_seen[b]; });
  // Each vertex follows the last pivot (in that order) that reaches it; a pivot is its own group.
  const auto P = static_cast<std::int64_t>(division.pivots.size());
  std::vector<bool> pivot(n, false);
  for (auto p : division.pivots) pivot[p] = true;
  division.group.assign(n, -1);
  for (std::int64_t i = 0; i < P; ++i) {
    const auto p = division.pivots[i];
    division.group[p] = 2 * i;
    std::vector<bool> seen(n, false);
    std::deque<std::int64_t> queue{p};
    seen[p] = true;
    while (!queue.empty()) {
      const auto u = queue.front();
      queue.pop_front();
      for (auto j = adjacency.begin[u]; j < adjacency.begin[u + 1]; ++j) {
        const auto v = adjacency.next[j];
        if (seen[v]) continue;
        seen[v] = true;
        if (!pivot[v]) division.group[v] = 2 * i + 1;
        queue.push_back(v);
      }
    }
  }
  // The flow's order: pivots as sorted, each followed by the vertices after it.
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return division.group[a] < division.group[b]; });
  renumber(division, order);
  return division;
}

std::vector<std::int64_t> reachable_counts(const DeviceGraph& graph) {
  check(graph);
  const auto n = graph.vertices;
  const Adjacency adjacency(graph);
  Plain plain(n);
  for (std::int64_t u = 0; u < n; ++u)
    for (auto i = adjacency.begin[u]; i < adjacency.begin[u + 1]; ++i) boost::add_edge(u, adjacency.next[i], plain);
  // The condensation: components, their sizes and arcs, in topological order.
  std::vector<int> component(n);
  const auto components = static_cast<std::int64_t>(boost::strong_components(
      plain, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, plain))));
  std::vector<std::int64_t> size(components, 0);
  for (auto c : component) ++size[c];
  Plain condensed(components);
  {
    std::vector<std::pair<std::int64_t, std::int64_t>> arcs;
    for (std::int64_t u = 0; u < n; ++u)
      for (auto i = adjacency.begin[u]; i < adjacency.begin[u + 1]; ++i)
        if (component[u] != component[adjacency.next[i]]) arcs.emplace_back(component[u], component[adjacency.next[i]]);
    std::sort(arcs.begin(), arcs.end());
    arcs.erase(std::unique(arcs.begin(), arcs.end()), arcs.end());
    for (const auto& [a, b] : arcs) boost::add_edge(a, b, condensed);
  }
  std::vector<std::int64_t> sinks_first;  // reverse topological order: successors come first
  boost::topological_sort(condensed, std::back_inserter(sinks_first));
  // Component c reaches the components of a block of W at a time: W bits per component.
  constexpr std::int64_t kWords = 64, kBlock = kWords * 64;
  std::vector<std::int64_t> reached(components, 0);  // vertices in the components reached, own included
  std::vector<std::uint64_t> bits(static_cast<std::size_t>(components) * kWords);
  std::vector<std::int64_t> rank_of(components);  // position in topological order, for the blocks
  for (std::int64_t i = 0; i < components; ++i) rank_of[sinks_first[components - 1 - i]] = i;
  std::vector<std::int64_t> at_rank(components);
  for (std::int64_t c = 0; c < components; ++c) at_rank[rank_of[c]] = c;
  for (std::int64_t first = 0; first < components; first += kBlock) {
    const auto last = std::min(components, first + kBlock);
    std::fill(bits.begin(), bits.end(), 0);
    std::vector<std::int64_t> big;  // bits whose component holds more than one vertex
    for (auto r = first; r < last; ++r)
      if (size[at_rank[r]] > 1) big.push_back(r);
    for (auto c : sinks_first) {
      auto* mine = &bits[static_cast<std::size_t>(c) * kWords];
      if (rank_of[c] >= first && rank_of[c] < last) mine[(rank_of[c] - first) / 64] |= 1ULL << ((rank_of[c] - first) % 64);
      for (auto [e, end] = boost::out_edges(c, condensed); e != end; ++e) {
        const auto* theirs = &bits[static_cast<std::size_t>(boost::target(*e, condensed)) * kWords];
        for (std::int64_t w = 0; w < kWords; ++w) mine[w] |= theirs[w];
      }
      std::int64_t count = 0;
      for (std::int64_t w = 0; w < kWords; ++w) count += __builtin_popcountll(mine[w]);
      for (auto r : big)
        if (mine[(r - first) / 64] >> ((r - first) % 64) & 1) count += size[at_rank[r]] - 1;
      reached[c] += count;
    }
  }
  std::vector<std::int64_t> counts(n);
  for (std::int64_t v = 0; v < n; ++v) counts[v] = reached[component[v]] - 1;  // not itself
  return counts;
}

FlattenedDivision divide_flattened(const DeviceGraph& graph, std::int64_t threshold) {
  TESSERA_REQUIRE(threshold >= 1, "--streams.th: must be >= 1, got ", threshold);
  FlattenedDivision division;
  division.reachable = reachable_counts(graph);
  const auto n = graph.vertices;
  std::map<std::int64_t, std::int64_t, std::greater<>> frequency;
  for (auto r : division.reachable) ++frequency[r];
  std::vector<std::int64_t> pivot_counts;  // descending
  for (const auto& [count, times] : frequency)
    if (times < threshold) pivot_counts.push_back(count);
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return division.reachable[a] > division.reachable[b]; });
  for (auto v : order)
    if (std::binary_search(pivot_counts.begin(), pivot_counts.end(), division.reachable[v], std::greater<>()))
      division.pivots.push_back(v);
  // Groups in descending count: a pivot count's vertices, or the counts between two pivot counts.
  division.group.assign(n, 0);
  for (std::int64_t v = 0; v < n; ++v) {
    const auto r = division.reachable[v];
    const auto above = std::lower_bound(pivot_counts.begin(), pivot_counts.end(), r, std::greater<>());
    const auto i = above - pivot_counts.begin();
    division.group[v] = above != pivot_counts.end() && *above == r ? 2 * i : 2 * i - 1;
  }
  for (auto& g : division.group) g += 1;  // the counts above the highest pivot count: 0
  renumber(division, order);
  return division;
}

namespace {
double pairs(double n) { return n * (n - 1) / 2; }
}  // namespace

double adjusted_rand_index(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  TESSERA_ASSERT(a.size() == b.size());
  std::map<std::pair<std::int64_t, std::int64_t>, double> both;
  std::map<std::int64_t, double> in_a, in_b;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++both[{a[i], b[i]}];
    ++in_a[a[i]];
    ++in_b[b[i]];
  }
  double index = 0, sum_a = 0, sum_b = 0;
  for (const auto& [key, count] : both) index += pairs(count);
  for (const auto& [key, count] : in_a) sum_a += pairs(count);
  for (const auto& [key, count] : in_b) sum_b += pairs(count);
  const double expected = sum_a * sum_b / std::max(1.0, pairs(static_cast<double>(a.size())));
  const double maximum = (sum_a + sum_b) / 2;
  if (maximum == expected) return 1.0;  // both labellings are one cluster, or all singletons
  return (index - expected) / (maximum - expected);
}

DivisionScore score_division(const std::vector<std::int64_t>& group, const std::vector<std::int64_t>& layer) {
  TESSERA_REQUIRE(group.size() == layer.size(), "streams: ", group.size(), " devices divided, ", layer.size(),
                  " with a true layer");
  DivisionScore score;
  // Dummy devices (true layer -1) are the provider's cover, not part of the model.
  std::vector<std::int64_t> kept_group, kept_layer;
  for (std::size_t i = 0; i < group.size(); ++i)
    if (layer[i] >= 0) {
      kept_group.push_back(group[i]);
      kept_layer.push_back(layer[i]);
    }
  score.adjusted_rand_index = adjusted_rand_index(kept_group, kept_layer);
  std::map<std::int64_t, std::vector<std::size_t>> members;
  std::map<std::int64_t, std::int64_t> layer_size;
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (layer[i] < 0) continue;
    members[group[i]].push_back(i);
    ++layer_size[layer[i]];
  }
  std::int64_t exact = 0;
  for (const auto& [g, who] : members) {
    const auto l = layer[who.front()];
    const bool one_layer = std::all_of(who.begin(), who.end(), [&](auto i) { return layer[i] == l; });
    if (one_layer && layer_size[l] == static_cast<std::int64_t>(who.size())) exact += static_cast<std::int64_t>(who.size());
  }
  score.exact_fraction =
      kept_group.empty() ? 0.0 : static_cast<double>(exact) / static_cast<double>(kept_group.size());
  score.groups_found = static_cast<std::int64_t>(members.size());
  score.layers = static_cast<std::int64_t>(layer_size.size());
  return score;
}

}  // namespace tessera::streams
