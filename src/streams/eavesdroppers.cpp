#include "streams/eavesdroppers.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"

namespace tessera::streams {

bool is_method(const std::string& method) {
  return std::find(kMethods.begin(), kMethods.end(), method) != kMethods.end();
}

MethodDivision divide(const std::string& method, const ObservedStreams& seen, std::int64_t phase, std::int64_t th) {
  MethodDivision out;
  if (method == "sequential") {
    auto d = divide_sequential(seen.graph, seen.entry, seen.exit, seen.first_seen);
    out.connectivity = d.connectivity;
    out.division = std::move(d);
  } else if (method == "depth") {
    // Hops from the model's input: the forward entry, which a backward phase reaches last.
    const bool forward = phase == trace::kForward;
    out.division = divide_by_depth(seen.graph, forward ? seen.entry : seen.exit, !forward);
  } else if (method == "flattened") {
    auto d = divide_flattened(seen.graph, th);
    out.reachable = std::move(d.reachable);
    out.division = std::move(d);
  } else {
    throw Error("--streams.method: '" + method + "' is not one of sequential, flattened, depth");
  }
  return out;
}

double Judgement::worst() const { return *std::max_element(ari.begin(), ari.end()); }
double Judgement::mean() const { return std::accumulate(ari.begin(), ari.end(), 0.0) / static_cast<double>(ari.size()); }

Judgement judge(const trace::TraceFile& file, std::int64_t step, std::int64_t th) {
  TESSERA_REQUIRE(file.device_layer, "'", file.path, "' has no /trace/truth/device_layer: nothing to score against");
  Judgement judgement;
  judgement.ari.fill(-1.0);
  for (std::int64_t phase : {trace::kForward, trace::kBackward}) {
    const bool present = std::any_of(file.events.phase.begin(), file.events.phase.end(), [&](auto p) { return p == phase; });
    if (!present) continue;
    const auto seen = observe(file, step, phase, file.events.timed() ? View::timed : View::ordered);
    for (std::size_t m = 0; m < kMethods.size(); ++m) {
      const auto d = divide(kMethods[m], seen, phase, th);
      judgement.ari[m] = std::max(judgement.ari[m], score_division(d.division.group, *file.device_layer).adjusted_rand_index);
    }
  }
  return judgement;
}

}  // namespace tessera::streams
