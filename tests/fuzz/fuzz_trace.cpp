// libFuzzer harness: the stream-trace reader, tessera::trace::read_trace
// (src/trace/reader.cpp) on an HDF5 file, through src/io/h5*.cpp; then, on every
// trace it accepts, what the eavesdropper sees of it, streams::observe
// (src/streams/view.cpp), for every view in step 0 of both phases: the analysis must
// take any file the reader takes, answering a tessera::Error at worst.
#include <cmath>
#include <cstdint>

#include "fuzz_common.hpp"
#include "streams/view.hpp"
#include "trace/reader.hpp"

using namespace tessera;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_mpi_and_hdf5();
  return 0;
}

namespace {

bool device(std::int64_t v, std::int64_t devices) { return v >= 0 && v < devices; }

// What the reader promises about an accepted trace (its header, docs/output.md "The stream trace").
void check_trace(const trace::TraceFile& file) {
  const auto& e = file.events;
  const std::size_t n = e.size();
  if (e.step.size() != n || e.phase.size() != n || e.seq.size() != n || e.dst.size() != n || e.bytes.size() != n)
    fuzz::finding("read_trace accepted event columns of different lengths");
  if (e.t_start.size() != e.t_end.size() || (e.timed() && e.t_start.size() != n))
    fuzz::finding("read_trace accepted t_start/t_end of the wrong lengths");
  if (file.devices < 0) fuzz::finding("read_trace accepted a negative device count");
  for (std::size_t i = 0; i < n; ++i) {
    if (!device(e.src[i], file.devices) || !device(e.dst[i], file.devices))
      fuzz::finding("read_trace accepted a stream naming a device outside 0..devices-1");
    if (e.phase[i] != trace::kForward && e.phase[i] != trace::kBackward)
      fuzz::finding("read_trace accepted a phase other than 0 and 1");
    if (e.step[i] < 0 || e.bytes[i] < 0) fuzz::finding("read_trace accepted a negative step or size");
    if (e.timed() && !(std::isfinite(e.t_start[i]) && std::isfinite(e.t_end[i]) && e.t_start[i] >= 0 &&
                       e.t_end[i] >= e.t_start[i]))
      fuzz::finding("read_trace accepted times outside 0 <= t_start <= t_end");
  }
  for (const auto& end : {file.entry, file.exit})
    if (end && !device(*end, file.devices)) fuzz::finding("read_trace accepted a forward entry/exit out of range");
  if (file.device_layer && static_cast<std::int64_t>(file.device_layer->size()) != file.devices)
    fuzz::finding("read_trace accepted a truth of another length than the device count");
}

// What observe promises about the streams it returns.
void check_observed(const trace::TraceFile& file, const streams::ObservedStreams& seen, streams::View view) {
  if (seen.graph.vertices != file.devices) fuzz::finding("observe: a graph of another size than the trace's");
  // Streams that closed a cycle are set aside (views with an order only); the rest
  // are the arcs, and they form no cycle.
  if (seen.streams <= 0 || seen.set_aside < 0 ||
      static_cast<std::int64_t>(seen.graph.arcs.size()) + seen.set_aside != seen.streams)
    fuzz::finding("observe: a stream count that is not the number of arcs and streams set aside");
  if (seen.set_aside > 0 && !streams::has_order(view)) fuzz::finding("observe: streams set aside in a view without order");
  if (streams::on_a_cycle(seen.graph) >= 0) fuzz::finding("observe: a graph with a cycle");
  for (const auto& [u, v] : seen.graph.arcs)
    if (!device(u, file.devices) || !device(v, file.devices)) fuzz::finding("observe: an arc outside the devices");
  if (!device(seen.entry, file.devices) || !device(seen.exit, file.devices))
    fuzz::finding("observe: an entry or exit that is not a device");
  const std::size_t order = streams::has_order(view) ? static_cast<std::size_t>(file.devices) : 0;
  if (seen.first_seen.size() != order) fuzz::finding("observe: first_seen of the wrong length for the view");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile input("trace", ".h5");
  const std::string& path = input.write(data, size);
  trace::TraceFile file;
  const bool ok = fuzz::accepts([&] { file = trace::read_trace(path, MPI_COMM_SELF); });
  fuzz::require_no_open_hdf5_objects("trace::read_trace");
  if (!ok) return 0;
  check_trace(file);
  for (const auto view : {streams::View::timed, streams::View::ordered, streams::View::flat, streams::View::edges})
    for (const auto phase : {trace::kForward, trace::kBackward}) {
      streams::ObservedStreams seen;
      if (fuzz::accepts([&] { seen = streams::observe(file, 0, phase, view); })) check_observed(file, seen, view);
    }
  return 0;
}
