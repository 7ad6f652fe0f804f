#include "streams/eavesdroppers.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"

namespace tessera::streams {

namespace {

MethodDivision sequential(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  MethodDivision out;
  auto d = divide_sequential(seen.graph, seen.entry, seen.exit, seen.first_seen);
  out.connectivity = d.connectivity;
  out.division = std::move(d);
  return out;
}

MethodDivision flattened(const ObservedStreams& seen, std::int64_t, std::int64_t th) {
  MethodDivision out;
  auto d = divide_flattened(seen.graph, th);
  out.reachable = std::move(d.reachable);
  out.division = std::move(d);
  return out;
}

MethodDivision depth(const ObservedStreams& seen, std::int64_t phase, std::int64_t) {
  // Hops from the model's input: the forward entry, which a backward phase reaches last.
  const bool forward = phase == trace::kForward;
  return {divide_by_depth(seen.graph, forward ? seen.entry : seen.exit, !forward), 0, {}};
}

MethodDivision first_arrival(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  return {divide_by_gaps(seen.first_in), 0, {}};
}

MethodDivision first_departure(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  return {divide_by_gaps(seen.first_out), 0, {}};
}

MethodDivision sizes(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  TESSERA_REQUIRE(static_cast<std::int64_t>(seen.messages_in.size()) == seen.graph.vertices,
                  "streams: the size eavesdropper reads the sizes of the streams, which the edges view has not");
  return {divide_by_profile(seen.messages_in, seen.bytes_in, seen.messages_out, seen.bytes_out), 0, {}};
}

MethodDivision structure(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  return {divide_by_neighbours(seen.graph), 0, {}};
}

std::int64_t inferred_groups(const ObservedStreams&) { return 0; }

MethodDivision spectral(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  return {divide_spectrally(seen.graph, 1, inferred_groups(seen)), 0, {}};
}

std::string told_names() {
  std::string names;
  for (const auto& e : eavesdroppers())
    if (e.told_layers) names += (names.empty() ? "" : ", ") + std::string(e.name);
  return names;
}

// The eavesdroppers told the number of layers read it from the trace's truth, as an
// adversary that knows the model's architecture would from its description.
std::int64_t told_layers(const ObservedStreams& seen) {
  TESSERA_REQUIRE(seen.layers > 0, "streams: the eavesdroppers told the number of layers (", told_names(),
                  ") take it from the trace's /trace/truth/device_layer, which this trace lacks");
  return seen.layers;
}

MethodDivision first_arrival_told(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  return {divide_by_gaps(seen.first_in, told_layers(seen)), 0, {}};
}

MethodDivision spectral_told(const ObservedStreams& seen, std::int64_t, std::int64_t) {
  return {divide_spectrally(seen.graph, 1, told_layers(seen)), 0, {}};
}

}  // namespace

const std::vector<Eavesdropper>& eavesdroppers() {
  static const std::vector<Eavesdropper> table{
      {"sequential", "the graph and the order of the streams (Algorithm 1: minimum vertex cuts as pivots)", true,
       false, sequential},
      {"flattened", "the graph (Algorithm 2: reachable counts seen fewer than th times as pivots)", false, false,
       flattened},
      {"depth", "the graph (hops from the input, one group per depth)", false, false, depth},
      {"first-arrival", "when each device's first incoming stream starts, cut at the gaps that stand out", true,
       false, first_arrival},
      {"first-departure", "when each device's first outgoing stream starts, cut at the gaps that stand out", true,
       false, first_departure},
      {"sizes", "messages and bytes each device receives and sends (equal traffic, one group)", false, true, sizes},
      {"structure", "the graph (structural equivalence: the same senders and receivers, one group)", false, false,
       structure},
      {"spectral", "the graph (devices that share most of their senders and receivers, by the leading "
       "eigenvectors of that similarity; the number of groups from their eigenvalues)", false, false, spectral,
       false, inferred_groups},
      {"first-arrival-k", "as first-arrival, told the number of layers k: cut at the widest gaps that make k groups",
       true, false, first_arrival_told, true},
      {"spectral-k", "as spectral, told the number of layers k: k groups, whatever the eigenvalues' gaps", false,
       false, spectral_told, true, told_layers},
  };
  return table;
}

std::string eavesdropper_names(const char* separator) {
  std::string names;
  for (const auto& e : eavesdroppers()) names += (names.empty() ? "" : separator) + std::string(e.name);
  return names;
}

std::size_t eavesdropper_index(const std::string& name, const std::string& option) {
  const auto& table = eavesdroppers();
  const auto at = std::find_if(table.begin(), table.end(), [&](const auto& e) { return name == e.name; });
  if (at == table.end()) throw Error(option + ": '" + name + "' is not one of " + eavesdropper_names());
  return static_cast<std::size_t>(at - table.begin());
}

const Eavesdropper& eavesdropper(const std::string& name, const std::string& option) {
  return eavesdroppers()[eavesdropper_index(name, option)];
}

MethodDivision divide(const std::string& method, const ObservedStreams& seen, std::int64_t phase, std::int64_t th) {
  return eavesdropper(method).divide(seen, phase, th);
}

double Judgement::worst() const { return *std::max_element(ari.begin(), ari.end()); }
double Judgement::mean() const { return std::accumulate(ari.begin(), ari.end(), 0.0) / static_cast<double>(ari.size()); }

double Judgement::worst(const std::vector<std::size_t>& of) const {
  double w = -1;
  for (auto i : of) w = std::max(w, ari.at(i));
  return w;
}

double Judgement::mean(const std::vector<std::size_t>& of) const {
  double sum = 0;
  for (auto i : of) sum += ari.at(i);
  return of.empty() ? 0.0 : sum / static_cast<double>(of.size());
}

Judgement judge(const trace::TraceFile& file, std::int64_t step, std::int64_t th) {
  TESSERA_REQUIRE(file.device_layer, "'", file.path, "' has no /trace/truth/device_layer: nothing to score against");
  const auto& table = eavesdroppers();
  Judgement judgement;
  judgement.ari.assign(table.size(), -1.0);
  for (std::int64_t phase : {trace::kForward, trace::kBackward}) {
    const bool present = std::any_of(file.events.phase.begin(), file.events.phase.end(), [&](auto p) { return p == phase; });
    if (!present) continue;
    const auto seen = observe(file, step, phase, file.events.timed() ? View::timed : View::ordered);
    std::vector<Division> divisions(table.size());
    std::vector<std::size_t> spectral_rows;
    std::vector<std::int64_t> spectral_counts;
    for (std::size_t m = 0; m < table.size(); ++m) {
      if (table[m].spectral_groups) {
        spectral_rows.push_back(m);
        spectral_counts.push_back(table[m].spectral_groups(seen));
      } else {
        divisions[m] = table[m].divide(seen, phase, th).division;
      }
    }
    auto embedded = divide_spectrally(seen.graph, 1, spectral_counts);
    for (std::size_t r = 0; r < spectral_rows.size(); ++r) divisions[spectral_rows[r]] = std::move(embedded[r]);
    for (std::size_t m = 0; m < table.size(); ++m)
      judgement.ari[m] =
          std::max(judgement.ari[m], score_division(divisions[m].group, *file.device_layer).adjusted_rand_index);
  }
  return judgement;
}

}  // namespace tessera::streams
