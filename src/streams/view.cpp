#include "streams/view.hpp"

#include <algorithm>
#include <limits>

#include "core/error.hpp"

namespace tessera::streams {

View parse_view(const std::string& name) {
  if (name == "timed") return View::timed;
  if (name == "ordered") return View::ordered;
  if (name == "flat") return View::flat;
  if (name == "edges") return View::edges;
  throw Error("--streams.view: '" + name + "' is not one of timed, ordered, flat, edges");
}

const char* view_name(View view) {
  switch (view) {
    case View::timed: return "timed";
    case View::ordered: return "ordered";
    case View::flat: return "flat";
    case View::edges: return "edges";
  }
  return "?";
}

bool has_order(View view) { return view == View::timed || view == View::ordered; }
bool has_sizes(View view) { return view != View::edges; }

namespace {

// The one device with arcs out and none in (`sources`), or in and none out.
std::int64_t the_only(const ObservedStreams& seen, bool sources, const std::string& path) {
  std::vector<std::int64_t> in(seen.graph.vertices, 0), out(seen.graph.vertices, 0);
  for (const auto& [u, v] : seen.graph.arcs) {
    ++out[u];
    ++in[v];
  }
  std::vector<std::int64_t> found;
  for (std::int64_t v = 0; v < seen.graph.vertices; ++v)
    if (sources ? out[v] > 0 && in[v] == 0 : in[v] > 0 && out[v] == 0) found.push_back(v);
  TESSERA_REQUIRE(found.size() == 1, "'", path, "': no forward_entry/forward_exit attrs, and ", found.size(),
                  " devices only ", sources ? "send" : "receive", " (one is needed to find the ",
                  sources ? "entry" : "exit", ")");
  return found.front();
}

// Ranks the devices by first appearance (a stream's sender before its receiver) and
// drops the arcs from a later device to an earlier one: what is left is acyclic.
void set_aside_against_the_flow(ObservedStreams& seen, const trace::TraceEvents& e, std::int64_t step, std::int64_t phase,
                                View view) {
  std::vector<std::size_t> events;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.step[i] == step && e.phase[i] == phase) events.push_back(i);
  auto when = [&](std::size_t i) { return view == View::timed ? e.t_start[i] : static_cast<double>(e.seq[i]); };
  std::stable_sort(events.begin(), events.end(), [&](auto a, auto b) { return when(a) < when(b); });
  std::vector<std::int64_t> rank(seen.graph.vertices, -1);
  std::int64_t next = 0;
  for (auto i : events)
    for (auto device : {e.src[i], e.dst[i]})
      if (rank[device] < 0) rank[device] = next++;
  auto& arcs = seen.graph.arcs;
  const auto before = arcs.size();
  arcs.erase(std::remove_if(arcs.begin(), arcs.end(), [&](const auto& arc) { return rank[arc.first] >= rank[arc.second]; }),
             arcs.end());
  seen.set_aside = static_cast<std::int64_t>(before - arcs.size());
}

}  // namespace

ObservedStreams observe(const trace::TraceFile& file, std::int64_t step, std::int64_t phase, View view) {
  const auto& e = file.events;
  ObservedStreams seen;
  seen.graph.vertices = file.devices;
  const double never = kNeverSeen;
  static_assert(kNeverSeen == std::numeric_limits<double>::max());
  TESSERA_REQUIRE(view != View::timed || e.timed(), "'", file.path,
                  "' has no /trace/t_start and t_end: --streams.view=timed needs them (ordered uses seq)");
  if (has_order(view))
    for (auto* times : {&seen.first_seen, &seen.first_in, &seen.first_out}) times->assign(file.devices, never);
  if (has_sizes(view))
    for (auto* counts : {&seen.messages_in, &seen.messages_out, &seen.bytes_in, &seen.bytes_out})
      counts->assign(file.devices, 0);
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e.step[i] != step || e.phase[i] != phase) continue;
    seen.graph.arcs.emplace_back(e.src[i], e.dst[i]);
    ++seen.streams;
    seen.bytes += e.bytes[i];
    if (has_sizes(view)) {
      ++seen.messages_out[e.src[i]];
      ++seen.messages_in[e.dst[i]];
      seen.bytes_out[e.src[i]] += e.bytes[i];
      seen.bytes_in[e.dst[i]] += e.bytes[i];
    }
    if (!has_order(view)) continue;
    const double when = view == View::timed ? e.t_start[i] : static_cast<double>(e.seq[i]);
    for (auto device : {e.src[i], e.dst[i]}) seen.first_seen[device] = std::min(seen.first_seen[device], when);
    seen.first_out[e.src[i]] = std::min(seen.first_out[e.src[i]], when);
    seen.first_in[e.dst[i]] = std::min(seen.first_in[e.dst[i]], when);
  }
  TESSERA_REQUIRE(seen.streams > 0, "'", file.path, "': no streams in step ", step, ", phase ", phase,
                  " (see --streams.step, --streams.phase)");
  const auto cyclic = on_a_cycle(seen.graph);
  TESSERA_REQUIRE(cyclic < 0 || has_order(view), "'", file.path, "': the streams of step ", step, ", phase ", phase,
                  " form a cycle (device ", cyclic, " lies on it or after it); the ", view_name(view),
                  " view has no order to tell the flow from the rest: use --streams.view=ordered or timed");
  if (cyclic >= 0) set_aside_against_the_flow(seen, e, step, phase, view);
  const bool forward = phase == trace::kForward;
  seen.entry = forward && file.entry ? *file.entry : !forward && file.exit ? *file.exit : -1;
  seen.exit = forward && file.exit ? *file.exit : !forward && file.entry ? *file.entry : -1;
  if (seen.entry < 0) seen.entry = the_only(seen, true, file.path);
  if (seen.exit < 0) seen.exit = the_only(seen, false, file.path);
  if (file.device_layer) {
    std::vector<std::int64_t> layers;
    for (auto layer : *file.device_layer)
      if (layer >= 0) layers.push_back(layer);
    std::sort(layers.begin(), layers.end());
    seen.layers = std::unique(layers.begin(), layers.end()) - layers.begin();
  }
  return seen;
}

}  // namespace tessera::streams
