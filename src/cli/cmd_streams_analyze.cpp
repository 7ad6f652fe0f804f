// tessera streams analyze: the eavesdropper of the paper's section VI (docs/DESIGN.md
// section 9). Reads a stream trace (any file in the /trace schema), divides the
// devices of one step and phase into the groups it takes for layers (Algorithm 1 on
// the ordered view, or Algorithm 2), and scores the division against the truth when
// the file has it; the division itself never reads the truth. Methods: Algorithm 1
// (timed or ordered view), Algorithm 2 and the depth eavesdropper (every view). Writes
// <run.out>/streams.h5 with /streams/<run>.
#include <filesystem>
#include <numeric>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "io/output_file.hpp"
#include "streams/division_file.hpp"
#include "streams/learned.hpp"
#include "trace/reader.hpp"

namespace tessera::cli {

namespace cmd_streams_analyze {
namespace {

std::string method_help() {
  std::string help = "the eavesdropper, one of:";
  for (const auto& e : streams::eavesdroppers())
    help += std::string(" ") + e.name + " (" + e.reads + (e.needs_order ? "; the timed or ordered view" : "") +
            (e.needs_sizes ? "; any view but edges" : "") + "),";
  help += " learned (a classifier of each device's times, sizes, hops and reach, trained on --streams.train; the "
          "timed or ordered view). Each finds the number of groups itself.";
  return help;
}

const std::string kLearned = "learned";

void add_options(po::options_description& options) {
  options.add_options()
    ("streams.trace", po::value<std::string>()->default_value(""),
     "HDF5 file with a /trace group (written by 'tessera serve', or by anything in its schema)")
    ("streams.method", po::value<std::string>()->default_value("sequential"), method_help().c_str())
    ("streams.view", po::value<std::string>()->default_value("ordered"),
     "what the eavesdropper sees: timed (sender, receiver, bytes, start and end times), ordered (the order "
     "of the streams, no times), flat (no order), edges (sender and receiver only)")
    ("streams.train", po::value<std::string>()->default_value(""),
     "learned: comma-separated trace files with their truth to train on (other seeds, other plans: e.g. "
     "serve.h5 of other run.seed, obfuscate.h5), never the trace analysed")
    ("learn.epochs", po::value<std::int64_t>()->default_value(300), "learned: full-batch training epochs")
    ("learn.hidden", po::value<std::int64_t>()->default_value(64), "learned: width of its two hidden layers")
    ("streams.th", po::value<std::int64_t>()->default_value(2),
     "flattened: a reachable count seen fewer than this many times marks pivots (the paper's th)")
    ("streams.phase", po::value<std::string>()->default_value("forward"), "forward or backward")
    ("streams.step", po::value<std::int64_t>()->default_value(0), "which traced step")
    ("streams.run", po::value<std::string>()->default_value(""),
     "name of the /streams/<run> group (empty = <method>-<view>); <run.out>/streams.h5 collects runs: a new "
     "name is added beside the runs already in it")
    ("streams.replace", flag_value(false),
     "replace a run of the same name in streams.h5 (the file's other runs are kept; without it such a run is "
     "refused)")
    ("run.out", po::value<std::string>()->default_value("runs/streams"), "output folder (created if missing)")
    ("run.seed", po::value<std::uint64_t>()->default_value(1), "unused here (the analysis is deterministic)")
    ("run.threads", po::value<int>()->default_value(0), "unused here (one thread)");
}

struct Settings {
  std::string trace, method, run;
  std::vector<std::string> train;
  streams::LearnedSettings learn;
  bool replace = false;
  streams::View view = streams::View::ordered;
  std::int64_t th = 2, phase = 0, step = 0;
};

Settings settings_of(const Config& config) {
  Settings s;
  s.trace = config.get<std::string>("streams.trace");
  TESSERA_REQUIRE(!s.trace.empty(), "--streams.trace: give the trace file (e.g. runs/serve/serve.h5)");
  TESSERA_REQUIRE(std::filesystem::is_regular_file(s.trace), "--streams.trace: '", s.trace, "' is not a file");
  s.method = config.get<std::string>("streams.method");
  s.view = streams::parse_view(config.get<std::string>("streams.view"));
  const auto train = config.get<std::string>("streams.train");
  if (s.method == kLearned) {
    TESSERA_REQUIRE(streams::has_order(s.view), "--streams.method=learned reads the times and sizes of the streams: "
                    "it needs --streams.view=timed or ordered");
    TESSERA_REQUIRE(!train.empty(), "--streams.train: the learned eavesdropper needs traces to train on");
    s.train = split_list(train, "--streams.train");
    for (const auto& path : s.train) {
      TESSERA_REQUIRE(std::filesystem::is_regular_file(path), "--streams.train: '", path, "' is not a file");
      TESSERA_REQUIRE(std::filesystem::weakly_canonical(path) != std::filesystem::weakly_canonical(s.trace),
                      "--streams.train: '", path, "' is the trace analysed: a learned eavesdropper is tested on "
                      "traces it never saw");
    }
    s.learn.epochs = config.get<std::int64_t>("learn.epochs");
    TESSERA_REQUIRE(s.learn.epochs >= 1, "--learn.epochs: must be >= 1, got ", s.learn.epochs);
    s.learn.hidden = config.get<std::int64_t>("learn.hidden");
    TESSERA_REQUIRE(s.learn.hidden >= 1, "--learn.hidden: must be >= 1, got ", s.learn.hidden);
    s.learn.seed = config.get<std::uint64_t>("run.seed");
  } else {
    TESSERA_REQUIRE(train.empty(), "--streams.train: only the learned eavesdropper trains (--streams.method=learned)");
    const auto& method = streams::eavesdropper(s.method);
    TESSERA_REQUIRE(!method.needs_order || streams::has_order(s.view), "--streams.method=", s.method,
                    " reads the order or times of the streams: it needs --streams.view=timed or ordered");
    TESSERA_REQUIRE(!method.needs_sizes || streams::has_sizes(s.view), "--streams.method=", s.method,
                    " reads the sizes of the streams: the edges view has none");
  }
  s.th = config.get<std::int64_t>("streams.th");
  TESSERA_REQUIRE(s.th >= 1, "--streams.th: must be >= 1, got ", s.th);
  const auto phase = config.get<std::string>("streams.phase");
  TESSERA_REQUIRE(phase == "forward" || phase == "backward", "--streams.phase: '", phase,
                  "' is not one of forward, backward");
  s.phase = phase == "forward" ? trace::kForward : trace::kBackward;
  s.step = config.get<std::int64_t>("streams.step");
  TESSERA_REQUIRE(s.step >= 0, "--streams.step: must be >= 0, got ", s.step);
  s.run = config.get<std::string>("streams.run");
  if (s.run.empty()) s.run = s.method + "-" + streams::view_name(s.view);
  TESSERA_REQUIRE(s.run.find('/') == std::string::npos, "--streams.run: '", s.run, "' must not contain '/'");
  s.replace = config.get<bool>("streams.replace");
  return s;
}

int run(const Config& config, MPI_Comm world) {
  const auto s = agree(world, [&] { return settings_of(config); });
  const auto folder = output_folder(config, world);
  const auto path = checked_output_file((std::filesystem::path(folder) / "streams.h5").string(), world);
  const io::RunName run{"streams/" + s.run, "--streams.run", "--streams.replace", s.replace};
  io::require_room_for_runs(path, world, "streams analyze", {run});
  const auto file = agree(world, [&] { return trace::read_trace(s.trace, world); });
  std::unique_ptr<streams::LearnedEavesdropper> learned;
  if (s.method == kLearned) {
    learned = agree(world, [&] {
      std::vector<trace::TraceFile> traces;
      for (const auto& path : s.train) traces.push_back(trace::read_trace(path, world));
      return std::make_unique<streams::LearnedEavesdropper>(traces, s.phase, s.learn);
    });
    log::info("streams: learned: trained on ", s.train.size(), " traces (", learned->training_devices(),
              " devices, ", learned->layers(), " layers), training accuracy ", learned->training_accuracy());
  }
  const auto seen = agree(world, [&] { return streams::observe(file, s.step, s.phase, s.view); });
  log::info("streams: ", seen.streams, " streams (", seen.bytes, " bytes) among ", file.devices,
            " devices in step ", s.step, " ", s.phase == trace::kForward ? "forward" : "backward", ", view ",
            streams::view_name(s.view), "; entry ", seen.entry, ", exit ", seen.exit);
  if (seen.set_aside > 0)
    log::info("streams: they form cycles: ", seen.set_aside, " streams that run against the order in which the "
              "devices first appear are set aside (cover traffic such as MixNN's loops)");
  const auto result = agree(world, [&] {
    return learned ? streams::MethodDivision{learned->divide(seen, s.phase), 0, {}}
                   : streams::divide(s.method, seen, s.phase, s.th);
  });
  io::OutputFile out(path, world, {"streams analyze", config.ini_text(), config.get<std::uint64_t>("run.seed")},
                     io::Existing::add_run);
  auto group = out.create_run(run);
  trace::record_trace_path(group, s.trace, path);
  streams::DivisionRecord record{s.method, s.view, s.th, s.phase, s.step, file, seen, result, std::nullopt};
  if (learned) record.learned = {s.train, learned->training_accuracy(), s.learn.epochs};
  const auto scored = streams::write_division(group, record);
  out.commit();
  log::info("streams: ", s.method, ": ", result.division.groups, " groups, ", result.division.pivots.size(),
            " pivots",
            s.method == "sequential" ? ", vertex connectivity " + std::to_string(result.connectivity) : std::string(),
            "; ", scored);
  log::info("wrote '", path, "' (/streams/", s.run, ")");
  return 0;
}

}  // namespace
}  // namespace cmd_streams_analyze

const Command streams_analyze_command{
    "streams analyze", "the eavesdropper: divide a stream trace's devices into layers (paper section VI, Algorithms 1 and 2)",
    cmd_streams_analyze::add_options, cmd_streams_analyze::run};

}  // namespace tessera::cli
