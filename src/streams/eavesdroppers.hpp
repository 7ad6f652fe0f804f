// The eavesdroppers by name, and all of them at once on a trace: what the provider's
// obfuscation is scored against (docs/DESIGN.md section 9.3). One table: each row
// says what the eavesdropper reads of the streams (the graph, their order, their
// times, their sizes) and whether it is told the number of layers. The first eight
// infer it or do not need it; the rows told it (suffix -k) are an adversary that
// knows the model's architecture, and so how many layers it has.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "streams/view.hpp"

namespace tessera::streams {

struct MethodDivision {
  Division division;
  std::int64_t connectivity = 0;        // sequential only
  std::vector<std::int64_t> reachable;  // flattened only
};

struct Eavesdropper {
  const char* name;
  const char* reads;   // in words, for --help and the docs
  bool needs_order;    // the timed or ordered view (first_seen, first_in, first_out)
  bool needs_sizes;    // any view but edges
  MethodDivision (*divide)(const ObservedStreams& seen, std::int64_t phase, std::int64_t th);
  bool told_layers = false;  // reads ObservedStreams::layers (the trace's truth)
  // Rows that divide the spectral embedding say how many groups they ask of it (0:
  // inferred), so that judging embeds each graph once for all of them.
  std::int64_t (*spectral_groups)(const ObservedStreams& seen) = nullptr;
};

// sequential (Algorithm 1), flattened (Algorithm 2 with threshold `th`), depth,
// first-arrival, first-departure, sizes, structure, spectral: the paper's two, then
// tessera's own; then first-arrival-k and spectral-k, told the number of layers.
const std::vector<Eavesdropper>& eavesdroppers();
// The row named `name`; errors (naming `option`) list the names.
const Eavesdropper& eavesdropper(const std::string& name, const std::string& option = "--streams.method");
std::size_t eavesdropper_index(const std::string& name, const std::string& option);
std::string eavesdropper_names(const char* separator = ", ");

MethodDivision divide(const std::string& method, const ObservedStreams& seen, std::int64_t phase, std::int64_t th);

// Each eavesdropper's adjusted Rand index on `step` of a trace with its truth, on the
// best view it can use (timed when the trace has times, else ordered), the worse for
// the provider of the two phases (the larger index). Indexed like eavesdroppers().
struct Judgement {
  std::vector<double> ari;
  double worst() const;  // the largest
  double mean() const;
  // The same over a subset (indices into eavesdroppers()).
  double worst(const std::vector<std::size_t>& of) const;
  double mean(const std::vector<std::size_t>& of) const;
};
Judgement judge(const trace::TraceFile& file, std::int64_t step, std::int64_t th);

}  // namespace tessera::streams
