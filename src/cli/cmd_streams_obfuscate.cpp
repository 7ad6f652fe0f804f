// tessera streams obfuscate: the provider's defence of the paper's section VI (S3,
// docs/DESIGN.md section 9.3). Reads a stream trace with its truth, searches for
// cover traffic, padding and holds that hide the layers from the eavesdroppers it is
// tuned against (greedy, evolutionary, and the paper's learned generator), scores
// every plan against every eavesdropper (the held-out ones too), and writes
// <run.out>/obfuscate.h5: every plan evaluated with each eavesdropper's score and its
// cost (/obfuscation/points, the Pareto front marked), the plan chosen within the
// byte and time budgets by the tuned eavesdroppers (/obfuscation/plan, in
// the input trace's device ids: what `tessera serve --serve.obfuscation` sends), and
// that plan's obfuscated trace (/trace, for `tessera streams analyze`).
#include <chrono>
#include <filesystem>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "io/output_file.hpp"
#include "streams/obfuscation_search.hpp"
#include "streams/plan_file.hpp"
#include "trace/fingerprint.hpp"
#include "trace/reader.hpp"
#include "trace/writer.hpp"

namespace tessera::cli {

namespace cmd_streams_obfuscate {
namespace {

// The graph eavesdroppers and the first timing one; the others are held out.
const char* const kTunedByDefault = "sequential,flattened,depth,first-arrival";

void add_options(po::options_description& options) {
  options.add_options()
    ("streams.trace", po::value<std::string>()->default_value(""),
     "HDF5 file with a /trace group and its truth (written by 'tessera serve')")
    ("streams.step", po::value<std::int64_t>()->default_value(0), "the traced step the eavesdroppers are scored on")
    ("streams.th", po::value<std::int64_t>()->default_value(2), "Algorithm 2's threshold, as in 'streams analyze'")
    ("obfuscate.optimisers", po::value<std::string>()->default_value("greedy,evolutionary,generator"),
     "comma-separated: greedy (add the best of a few proposals while the loss falls), evolutionary "
     "(a steady-state GA over plans), generator (the paper's model M, trained by policy gradient), combine "
     "(unions of the plans scored so far that do best against different eavesdroppers; put it last)")
    ("obfuscate.evaluations", po::value<std::int64_t>()->default_value(200), "plans each optimiser scores")
    ("obfuscate.against", po::value<std::string>()->default_value(kTunedByDefault),
     ("comma-separated: the eavesdroppers the search is tuned against (its loss); the others are held out, "
      "and every plan is scored by all of them. Of: " + streams::eavesdropper_names() + " (see 'streams analyze "
      "--help')").c_str())
    ("obfuscate.c", po::value<double>()->default_value(0.5),
     "the loss's weight of new arcs: loss = (worst + mean of the eavesdroppers' adjusted Rand indices) / 2 + "
     "c * |E' xor E| / |E|")
    ("obfuscate.c_time", po::value<double>()->default_value(1.0),
     "the loss's weight of extra time: + c_time * (how much later the trace ends) / (its length)")
    ("obfuscate.bundle", po::value<std::int64_t>()->default_value(0),
     "moves per proposal: one device's cover to this many later devices (0 = 2% of the devices)")
    ("obfuscate.byte_budget", po::value<double>()->default_value(0.2, "0.2"),
     "the plan written to /obfuscation/plan and /trace: the lowest worst-case index with at most this "
     "fraction of extra bytes")
    ("obfuscate.time_budget", po::value<double>()->default_value(0.5),
     "the plan chosen also ends the trace at most this fraction later (0.5: the step at most 1.5x the plain "
     "step, in the deployment's time)")
    ("obfuscate.pad_bytes", po::value<std::int64_t>()->default_value(0),
     "pad every message up to a multiple of this many bytes (0 = none)")
    ("obfuscate.jitter_ms", po::value<double>()->default_value(0),
     "hold every message for a uniform time of up to this, ms (at most the trace's step)")
    ("run.out", po::value<std::string>()->default_value("runs/streams"), "output folder (created if missing)")
    ("run.seed", po::value<std::uint64_t>()->default_value(1), "seeds the proposals, the ids and the generator")
    ("run.threads", po::value<int>()->default_value(0), "unused here (one thread)");
}

struct Settings {
  std::string trace;
  std::vector<std::string> optimisers;
  double byte_budget = 0.2, time_budget = 0.5;
  streams::SearchSettings search;
};

Settings settings_of(const Config& config) {
  Settings s;
  s.trace = config.get<std::string>("streams.trace");
  TESSERA_REQUIRE(!s.trace.empty(), "--streams.trace: give the trace file (e.g. runs/serve/serve.h5)");
  TESSERA_REQUIRE(std::filesystem::is_regular_file(s.trace), "--streams.trace: '", s.trace, "' is not a file");
  std::stringstream names(config.get<std::string>("obfuscate.optimisers"));
  for (std::string name; std::getline(names, name, ',');) {
    const auto& known = streams::optimiser_names();
    TESSERA_REQUIRE(std::find(known.begin(), known.end(), name) != known.end(),
                    "--obfuscate.optimisers: '", name, "' is not one of greedy, evolutionary, generator, combine");
    s.optimisers.push_back(name);
  }
  TESSERA_REQUIRE(!s.optimisers.empty(), "--obfuscate.optimisers: name at least one");
  auto& q = s.search;
  q.step = config.get<std::int64_t>("streams.step");
  TESSERA_REQUIRE(q.step >= 0, "--streams.step: must be >= 0, got ", q.step);
  q.th = config.get<std::int64_t>("streams.th");
  TESSERA_REQUIRE(q.th >= 1, "--streams.th: must be >= 1, got ", q.th);
  q.evaluations = config.get<std::int64_t>("obfuscate.evaluations");
  TESSERA_REQUIRE(q.evaluations >= 1, "--obfuscate.evaluations: must be >= 1, got ", q.evaluations);
  q.c = config.get<double>("obfuscate.c");
  TESSERA_REQUIRE(q.c >= 0 && std::isfinite(q.c), "--obfuscate.c: must be >= 0, got ", q.c);
  q.against = streams::eavesdroppers_named(config.get<std::string>("obfuscate.against"), "--obfuscate.against");
  q.c_time = config.get<double>("obfuscate.c_time");
  TESSERA_REQUIRE(q.c_time >= 0 && std::isfinite(q.c_time), "--obfuscate.c_time: must be >= 0, got ", q.c_time);
  s.time_budget = config.get<double>("obfuscate.time_budget");
  TESSERA_REQUIRE(s.time_budget >= 0 && std::isfinite(s.time_budget), "--obfuscate.time_budget: must be >= 0, got ",
                  s.time_budget);
  q.bundle = config.get<std::int64_t>("obfuscate.bundle");
  TESSERA_REQUIRE(q.bundle >= 0, "--obfuscate.bundle: must be >= 0, got ", q.bundle);
  s.byte_budget = config.get<double>("obfuscate.byte_budget");
  TESSERA_REQUIRE(s.byte_budget >= 0 && std::isfinite(s.byte_budget), "--obfuscate.byte_budget: must be >= 0, got ",
                  s.byte_budget);
  q.base.pad_quantum = config.get<std::int64_t>("obfuscate.pad_bytes");
  TESSERA_REQUIRE(q.base.pad_quantum >= 0, "--obfuscate.pad_bytes: must be >= 0, got ", q.base.pad_quantum);
  const double jitter_ms = config.get<double>("obfuscate.jitter_ms");
  TESSERA_REQUIRE(jitter_ms >= 0 && std::isfinite(jitter_ms), "--obfuscate.jitter_ms: must be >= 0, got ", jitter_ms);
  q.base.jitter = jitter_ms / 1000;
  q.seed = config.get<std::uint64_t>("run.seed");
  return s;
}

std::string names_of(const std::vector<std::size_t>& indices) {
  std::string names;
  for (auto i : indices) names += (names.empty() ? "" : ",") + std::string(streams::eavesdroppers()[i].name);
  return names;
}

std::string indices_text(const streams::Judgement& judgement) {
  std::ostringstream text;
  for (std::size_t i = 0; i < judgement.ari.size(); ++i)
    text << (i ? ", " : "") << streams::eavesdroppers()[i].name << " " << judgement.ari[i];
  return text.str();
}

// What the search found: every plan scored, the Pareto front, the plan chosen.
struct Outcome {
  const std::vector<streams::PlanPoint>& points;
  std::vector<std::size_t> tuned, held_out, front;
  std::size_t chosen = 0;
  double seconds = 0;
};

// Every optimiser in turn, each rank alike (the search is deterministic).
void run_optimisers(const Settings& s, streams::PlanSearch& search, MPI_Comm world) {
  agree(world, [&] {
    for (const auto& name : s.optimisers) {
      log::info("obfuscate: ", name, ": ", s.search.evaluations, " plans");
      if (name == "greedy") streams::search_greedy(search);
      else if (name == "evolutionary") streams::search_evolutionary(search);
      else if (name == "combine") streams::search_combine(search);
      else streams::search_policy_gradient(search);
    }
  });
}

void write_output(const std::string& path, const Config& config, const Settings& s, const trace::TraceFile& plain,
                  const Outcome& o, MPI_Comm world) {
  const auto& best = o.points[o.chosen];
  const auto obfuscated = agree(world, [&] { return streams::obfuscate_trace(plain, best.plan, s.search.seed); });
  io::OutputFile out(path, world, {"streams obfuscate", config.ini_text(), s.search.seed});
  auto group = out.root().require_group("obfuscation");
  trace::record_trace_path(group, s.trace, path);
  group.set_attr("step", s.search.step);
  group.set_attr("th", s.search.th);
  group.set_attr("c", s.search.c);
  group.set_attr("byte_budget", s.byte_budget);
  group.set_attr("time_budget", s.time_budget);
  group.set_attr("c_time", s.search.c_time);
  group.set_attr("tuned", names_of(o.tuned));
  group.set_attr("held_out", names_of(o.held_out));
  group.set_attr("chosen_worst_tuned", best.judgement.worst(o.tuned));
  group.set_attr("chosen_worst", best.judgement.worst());
  group.set_attr("plain_seconds", best.cost.seconds);
  group.set_attr("chosen", static_cast<std::int64_t>(o.chosen));
  group.set_attr("plain_bytes", best.cost.bytes);
  group.set_attr("plain_messages", best.cost.messages);
  group.set_attr("plain_arcs", best.cost.arcs);
  group.set_attr("seconds", o.seconds);
  streams::write_points(group.require_group("points"), o.points, o.front);
  streams::write_plan(group.require_group("plan"), best.plan, plain.devices, trace::deployment_fingerprint(plain));
  trace::write_trace(obfuscated, out.root());
  out.commit();
}

void log_outcome(const Settings& s, const Outcome& o) {
  const auto& points = o.points;
  const auto& best = points[o.chosen];
  log::info("obfuscate: ", points.size(), " plans in ", o.seconds, " s, ", o.front.size(), " on the Pareto front");
  for (auto i : o.front)
    log::info("obfuscate:   ", points[i].optimiser, ": +", 100 * points[i].cost.byte_fraction(), "% bytes, +",
              100 * points[i].cost.message_fraction(), "% messages, +", 100 * points[i].cost.time_fraction(),
              "% time: adjusted Rand index ", indices_text(points[i].judgement));
  log::info("obfuscate: chosen within +", 100 * s.byte_budget, "% bytes and +", 100 * s.time_budget, "% time: +",
            100 * best.cost.byte_fraction(), "% bytes, +", 100 * best.cost.time_fraction(), "% time, ",
            best.plan.moves.size(), " moves; worst adjusted Rand index ", best.judgement.worst(o.tuned),
            " of the tuned eavesdroppers, ", o.held_out.empty() ? 0.0 : best.judgement.worst(o.held_out),
            " of the held-out ones (", indices_text(best.judgement), ")");
}

int run(const Config& config, MPI_Comm world) {
  const auto s = agree(world, [&] { return settings_of(config); });
  const auto path =
      checked_output_file((std::filesystem::path(output_folder(config, world)) / "obfuscate.h5").string(), world);
  const auto plain = agree(world, [&] { return trace::read_trace(s.trace, world); });
  agree(world, [&] {
    try {
      streams::check_holds(plain, s.search.base);
    } catch (const Error& e) {
      throw Error(std::string("--obfuscate.jitter_ms: ") + e.what());
    }
  });
  auto search = agree(world, [&] { return std::make_unique<streams::PlanSearch>(plain, s.search); });
  Outcome o{search->points(), search->tuned(), {}, {}};
  for (std::size_t i = 0; i < streams::eavesdroppers().size(); ++i)
    if (std::find(o.tuned.begin(), o.tuned.end(), i) == o.tuned.end()) o.held_out.push_back(i);
  const auto started = std::chrono::steady_clock::now();
  const auto none = agree(world, [&] { return search->evaluate(s.search.base, "greedy"); });
  log::info("obfuscate: the plain trace: adjusted Rand index ", indices_text(none.judgement));
  log::info("obfuscate: tuned against ", names_of(o.tuned), "; held out: ",
            o.held_out.empty() ? std::string("none") : names_of(o.held_out));
  run_optimisers(s, *search, world);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  o.front = streams::pareto_front(o.points, o.tuned);
  const auto within = streams::best_within(o.points, o.tuned, s.byte_budget, s.time_budget);
  agree(world, [&] {
    TESSERA_REQUIRE(within, "--obfuscate.byte_budget, --obfuscate.time_budget: no plan adds at most ", s.byte_budget,
                    " of the bytes and ", s.time_budget, " of the time (the base plan adds ",
                    o.points.front().cost.byte_fraction(), " and ", o.points.front().cost.time_fraction(), ")");
  });
  o.chosen = *within;
  write_output(path, config, s, plain, o, world);
  log_outcome(s, o);
  log::info("wrote '", path, "' (/obfuscation, and the chosen plan's /trace)");
  return 0;
}

}  // namespace
}  // namespace cmd_streams_obfuscate

const Command streams_obfuscate_command{
    "streams obfuscate",
    "the provider's defence: cover traffic that hides the layers from every eavesdropper (paper section VI, S3)",
    cmd_streams_obfuscate::add_options, cmd_streams_obfuscate::run};

}  // namespace tessera::cli
