// tessera bench streams: seconds and peak memory of every eavesdropper's division
// (each on the least detailed view it can use: timed for those that read the order
// or times, flat for the size eavesdropper, edges for the rest; the learned one,
// trained on a trace of another seed, on the timed view) on traces of a served model cut ever finer: the
// default block sizes give about 10^3, 10^4 and 10^5 devices. One process; the
// traces are built from the architecture's shapes (no training). Peak memory is the
// growth of this process's resident peak during the division (Linux resets the peak
// through /proc/self/clear_refs), so the trace itself is not counted.
#include <cstdio>
#include <fstream>
#include <string>

#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "streams/eavesdroppers.hpp"
#include "streams/learned.hpp"
#include "trace/devices.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace streams_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  add_block_options(options);
  options.add_options()
    ("bench.block_sizes", po::value<std::string>()->default_value("64,20,8"),
     "square block sizes of the cut layer, comma-separated (vgg-mini's classifier.0: 64 -> 1574 devices, "
     "20 -> 16,022, 8 -> 100,358)")
    ("streams.th", po::value<std::int64_t>()->default_value(2), "Algorithm 2's threshold");
  add_repeats_option(options);
}

// This process's resident memory now and at its peak (kB), from /proc/self/status.
std::pair<double, double> resident_kb() {
  std::ifstream status("/proc/self/status");
  double now = 0, peak = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) now = std::stod(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) peak = std::stod(line.substr(6));
  }
  return {now, peak};
}

// Peak growth of resident memory (MB) while `body` runs; 0 where the peak cannot be reset.
template <class Body>
double peak_growth_mb(Body&& body) {
  std::ofstream("/proc/self/clear_refs") << "5";
  const auto before = resident_kb();
  body();
  const auto after = resident_kb();
  return std::max(0.0, after.second - before.first) / 1024.0;
}

// Times `divide` (a Division of `seen`) `repeats` times and prints its row: the median
// seconds, the peak memory growth and the division's index against the truth.
template <class Divide>
void time_division(Table& table, const trace::TraceFile& file, const streams::ObservedStreams& seen,
                   const std::string& method, const std::string& view, int repeats, Divide&& divide) {
  double peak = 0;
  streams::Division division;
  const auto t = time_cases({{method, [&](int) {
                               double seconds = 0;
                               peak = std::max(peak, peak_growth_mb([&] { seconds = seconds_of([&] { division = divide(); }); }));
                               return seconds;
                             }}},
                            repeats, Warmup::no);
  const auto ari = streams::score_division(division.group, *file.device_layer).adjusted_rand_index;
  table.add({file.devices, seen.streams, method, view, t.median(0), peak, ari});
}

int run(const Config& config, MPI_Comm world) {
  int repeats = 0;
  const auto th = config.get<std::int64_t>("streams.th");
  const auto arch = config.get<std::string>("model.arch");
  std::vector<std::int64_t> sizes;
  auto settings = block_settings(config);
  agree(world, [&] {
    TESSERA_REQUIRE(size_of(world) == 1, "bench streams runs on one process; run it without mpiexec -n ",
                    size_of(world));
    for (const auto& text : split_list(config.get<std::string>("bench.block_sizes"), "--bench.block_sizes")) {
      std::size_t used = 0;
      std::int64_t size = 0;
      try {
        size = std::stoll(text, &used);
      } catch (const std::exception&) {
      }
      TESSERA_REQUIRE(used == text.size() && size >= 1, "--bench.block_sizes: '", text, "' is not a size >= 1");
      sizes.push_back(size);
    }
    TESSERA_REQUIRE(!sizes.empty(), "--bench.block_sizes: give at least one size");
    repeats = repeats_of(config);
    TESSERA_REQUIRE(th >= 1, "--streams.th: must be >= 1, got ", th);
    models::architecture(arch);
  });
  auto report = report_for(config, world);
  auto& table = report.table("divisions", {{"devices", "devices", 0},
                                           {"streams", "streams", 0},
                                           {"method", "method", Column::kText, 15},
                                           {"view", "view", Column::kText},
                                           {"seconds", "seconds"},
                                           {"peak_mb", "peak MB", 1},
                                           {"adjusted_rand_index", "adjusted Rand index"}});
  std::vector<double> training_seconds;
  const auto& shape = models::architecture(arch);
  auto network = models::build(arch, settings.seed);
  for (auto size : sizes) {
    settings.bh = settings.bw = size;
    const auto targets = agree(world, [&] { return blocks::plan(*network, settings, 1); });
    const trace::LogicalDevices devices(*network, targets, {shape.channels, shape.height, shape.width}, settings.seed);
    auto file = devices.trace(1, 1, false, {}, settings.seed);
    file.path = "(bench trace)";
    // Each eavesdropper on the least detailed view it can use.
    for (const auto& method : streams::eavesdroppers()) {
      const auto view = method.needs_order ? streams::View::timed
                        : method.needs_sizes ? streams::View::flat
                                             : streams::View::edges;
      const auto seen = streams::observe(file, 0, trace::kForward, view);
      time_division(table, file, seen, method.name, streams::view_name(view), repeats,
                    [&] { return method.divide(seen, trace::kForward, th).division; });
    }
    // The learned eavesdropper, trained on the trace of another seed (other ids, other
    // jitter) of the same cut; its division timed like the others, its training apart.
    const trace::LogicalDevices other(*network, targets, {shape.channels, shape.height, shape.width}, settings.seed + 1);
    std::vector<trace::TraceFile> train{other.trace(1, 1, false, {}, settings.seed + 1)};
    std::unique_ptr<streams::LearnedEavesdropper> learned;
    training_seconds.push_back(seconds_of([&] {
      learned = std::make_unique<streams::LearnedEavesdropper>(train, trace::kForward, streams::LearnedSettings{});
    }));
    const auto seen = streams::observe(file, 0, trace::kForward, streams::View::timed);
    time_division(table, file, seen, "learned", "timed", repeats, [&] { return learned->divide(seen, trace::kForward); });
  }
  std::string trained;
  for (double t : training_seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%s%.1f s", trained.empty() ? "" : ", ", t);
    trained += text;
  }
  report.note("seconds: the median of " + std::to_string(repeats) + " divisions; peak MB: the most the memory grew in "
              "one; learned: trained on a trace of run.seed + 1 (training apart: " + trained + ")");
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace streams_case

const cli::Command streams_command{
    "bench streams", "seconds and peak memory of the eavesdropper's divisions at 10^3 to 10^5 devices",
    streams_case::add_options, streams_case::run};

}  // namespace tessera::bench
