// The timing, size and structure eavesdroppers (streams/division.hpp): a division by
// one time per device, cut at the gaps that stand out, by equal traffic, and by equal
// neighbours.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <tuple>

#include "core/error.hpp"
#include "streams/division.hpp"
#include "streams/view.hpp"

namespace tessera::streams {

namespace {

// How many of the widest gaps to cut: the drop from one gap to the next (sorted from
// the widest) that is the largest, when it is at least twice; else none.
std::size_t gaps_to_cut(std::vector<double> gaps, double tie) {
  std::sort(gaps.begin(), gaps.end(), std::greater<>());
  std::size_t cut = 0;
  double steepest = 2.0;
  for (std::size_t j = 0; j + 1 < gaps.size(); ++j) {
    const double ratio = std::max(gaps[j], tie) / std::max(gaps[j + 1], tie);
    if (ratio >= steepest) {
      steepest = ratio;
      cut = j + 1;
    }
  }
  return cut;
}

}  // namespace

Division divide_by_gaps(const std::vector<double>& when, std::int64_t groups) {
  const auto n = static_cast<std::int64_t>(when.size());
  Division division;
  division.group.assign(n, -1);
  std::vector<std::int64_t> timed;
  for (std::int64_t v = 0; v < n; ++v) {
    TESSERA_REQUIRE(when[v] == kNeverSeen || std::isfinite(when[v]), "streams: device ", v, " has time ", when[v]);
    if (when[v] != kNeverSeen) timed.push_back(v);
  }
  std::stable_sort(timed.begin(), timed.end(), [&](auto a, auto b) { return when[a] < when[b]; });
  if (!timed.empty()) {
    std::vector<double> gaps;
    for (std::size_t i = 1; i < timed.size(); ++i) gaps.push_back(when[timed[i]] - when[timed[i - 1]]);
    const double span = when[timed.back()] - when[timed.front()];
    // Gaps under a tenth of the mean spacing are ties: no cut among them.
    const double tie = std::max(span / static_cast<double>(gaps.size()) / 10, std::numeric_limits<double>::min());
    // Told the number of groups: one of them is the devices without a time, if any.
    const auto untimed = static_cast<std::int64_t>(timed.size() < static_cast<std::size_t>(n));
    const auto told_cuts = std::clamp<std::int64_t>(groups - 1 - untimed, 0, static_cast<std::int64_t>(gaps.size()));
    const auto cuts = groups > 0 ? static_cast<std::size_t>(told_cuts) : gaps_to_cut(gaps, tie);
    // The cuts' width: every gap at least as wide as the cuts-th widest.
    double width = std::numeric_limits<double>::infinity();
    if (cuts > 0) {
      auto sorted = gaps;
      std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(cuts - 1), sorted.end(),
                       std::greater<>());
      width = std::max(sorted[cuts - 1], tie * (1 + 1e-12));
    }
    std::int64_t group = 0;
    division.group[timed.front()] = 0;
    for (std::size_t i = 1; i < timed.size(); ++i) {
      if (gaps[i - 1] >= width) ++group;
      division.group[timed[i]] = group;
    }
    division.groups = group + 1;
  }
  if (static_cast<std::int64_t>(timed.size()) < n) {
    for (auto& g : division.group)
      if (g < 0) g = division.groups;
    ++division.groups;
  }
  std::vector<std::int64_t> size(division.groups, 0);
  for (auto g : division.group) ++size[g];
  for (std::int64_t v = 0; v < n; ++v)
    if (size[division.group[v]] == 1) division.pivots.push_back(v);
  std::sort(division.pivots.begin(), division.pivots.end(),
            [&](auto a, auto b) { return division.group[a] < division.group[b]; });
  return division;
}

Division divide_by_profile(const std::vector<std::int64_t>& messages_in, const std::vector<std::int64_t>& bytes_in,
                           const std::vector<std::int64_t>& messages_out, const std::vector<std::int64_t>& bytes_out) {
  const auto n = messages_in.size();
  TESSERA_REQUIRE(bytes_in.size() == n && messages_out.size() == n && bytes_out.size() == n,
                  "streams: the size eavesdropper needs messages and bytes for every device (not the edges view)");
  using Profile = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>;
  std::map<Profile, std::int64_t> number;
  for (std::size_t v = 0; v < n; ++v) number.emplace(Profile{messages_in[v], bytes_in[v], messages_out[v], bytes_out[v]}, 0);
  Division division;
  for (auto& [profile, g] : number) g = division.groups++;
  std::vector<std::int64_t> size(division.groups, 0);
  division.group.resize(n);
  for (std::size_t v = 0; v < n; ++v) {
    division.group[v] = number.at(Profile{messages_in[v], bytes_in[v], messages_out[v], bytes_out[v]});
    ++size[division.group[v]];
  }
  for (std::size_t v = 0; v < n; ++v)
    if (size[division.group[v]] == 1) division.pivots.push_back(static_cast<std::int64_t>(v));
  return division;
}

Neighbours distinct_neighbours(const DeviceGraph& graph) {
  const auto n = graph.vertices;
  Neighbours out{std::vector<std::vector<std::int64_t>>(n), std::vector<std::vector<std::int64_t>>(n)};
  for (const auto& [u, v] : graph.arcs) {
    TESSERA_REQUIRE(u >= 0 && u < n && v >= 0 && v < n, "device graph: stream ", u, " -> ", v,
                    " names a device outside 0..", n - 1);
    if (u == v) continue;
    out.receivers[u].push_back(v);
    out.senders[v].push_back(u);
  }
  for (std::int64_t v = 0; v < n; ++v)
    for (auto* list : {&out.senders[v], &out.receivers[v]}) {
      std::sort(list->begin(), list->end());
      list->erase(std::unique(list->begin(), list->end()), list->end());
    }
  return out;
}

Division divide_by_neighbours(const DeviceGraph& graph) {
  const auto n = graph.vertices;
  auto [senders, receivers] = distinct_neighbours(graph);
  // Groups numbered in order of their first device's id; a group of one is a pivot.
  std::map<std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>, std::int64_t> number;
  Division division;
  division.group.resize(n);
  std::vector<std::int64_t> size;
  for (std::int64_t v = 0; v < n; ++v) {
    const auto [at, added] = number.emplace(std::pair{std::move(senders[v]), std::move(receivers[v])}, division.groups);
    if (added) {
      ++division.groups;
      size.push_back(0);
    }
    division.group[v] = at->second;
    ++size[at->second];
  }
  for (std::int64_t v = 0; v < n; ++v)
    if (size[division.group[v]] == 1) division.pivots.push_back(v);
  return division;
}

}  // namespace tessera::streams
