// tessera serve: the S0 system. Loads a model file, cuts the target layers into
// blocks held by simulated devices on the ranks, and runs distributed inference
// on the test set or distributed training steps, checked against the monolithic
// model; writes the placement and the logical stream trace.
#include <sys/resource.h>

#include <cmath>
#include <filesystem>
#include <optional>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "comm/communicator.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "service/runner.hpp"
#include "service/cover_traffic.hpp"
#include "streams/plan_file.hpp"
#include "trace/devices.hpp"
#include "trace/fingerprint.hpp"
#include "trace/writer.hpp"

namespace tessera::cli {

namespace cmd_serve {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "serve");
  add_block_options(options);
  add_training_options(options);
  options.add_options()
    ("serve.mode", po::value<std::string>()->default_value("infer"),
     "infer: distributed inference on the test set; train: distributed SGD steps")
    ("serve.batch", po::value<std::int64_t>()->default_value(256), "images per step over all ranks")
    ("serve.steps", po::value<std::int64_t>()->default_value(20), "training steps (serve.mode=train)")
    ("serve.check", flag_value(true),
     "compare with the monolithic model (logits in infer mode, weights after training)")
    ("trace.steps", po::value<std::int64_t>()->default_value(1), "steps recorded in /trace (0 = none)")
    ("trace.device_gflops", po::value<double>()->default_value(10),
     "the traced deployment: compute rate of every device, GFLOP/s (a message's times in /trace)")
    ("trace.latency_ms", po::value<double>()->default_value(1), "the traced deployment: latency per message, ms")
    ("trace.bandwidth_mbit", po::value<double>()->default_value(1000),
     "the traced deployment: bandwidth of every link, Mbit/s")
    ("trace.jitter", po::value<double>()->default_value(0.1, "0.1"),
     "the traced deployment: every compute and transfer time is scaled by a uniform factor in "
     "[1 - jitter, 1 + jitter] (seeded by run.seed)")
    ("serve.obfuscation", po::value<std::string>()->default_value(""),
     "an obfuscation plan ('tessera streams obfuscate' output, planned on a trace of this model with the same "
     "--blocks options and run.seed): its cover bytes are sent between the ranks that host the devices involved "
     "after every pass, and /trace is the obfuscated trace");
  add_comm_options(options);
}

struct Settings {
  std::string mode;
  std::int64_t batch, trace_steps;
  trace::DeploymentModel deployment;
  service::TrainSettings train;
  bool check;
};

Settings settings_from(const Config& config) {
  Settings s;
  s.mode = config.get<std::string>("serve.mode");
  s.batch = config.get<std::int64_t>("serve.batch");
  s.trace_steps = config.get<std::int64_t>("trace.steps");
  s.check = config.get<bool>("serve.check");
  s.train.steps = config.get<std::int64_t>("serve.steps");
  s.train.batch = s.batch;
  s.train.lr = config.get<double>("train.lr");
  s.train.momentum = config.get<double>("train.momentum");
  s.train.weight_decay = config.get<double>("train.weight_decay");
  s.train.seed = config.get<std::uint64_t>("run.seed");
  TESSERA_REQUIRE(s.mode == "infer" || s.mode == "train", "--serve.mode: must be infer or train, got '", s.mode, "'");
  if (s.mode == "train") train::check_training_options(config);
  TESSERA_REQUIRE(s.batch >= 1, "--serve.batch: must be >= 1, got ", s.batch);
  TESSERA_REQUIRE(s.train.steps >= 1, "--serve.steps: must be >= 1, got ", s.train.steps);
  TESSERA_REQUIRE(s.trace_steps >= 0, "--trace.steps: must be >= 0, got ", s.trace_steps);
  const double gflops = config.get<double>("trace.device_gflops"), latency_ms = config.get<double>("trace.latency_ms"),
               mbit = config.get<double>("trace.bandwidth_mbit");
  TESSERA_REQUIRE(gflops > 0 && std::isfinite(gflops), "--trace.device_gflops: must be > 0, got ", gflops);
  TESSERA_REQUIRE(latency_ms >= 0 && std::isfinite(latency_ms), "--trace.latency_ms: must be >= 0, got ", latency_ms);
  TESSERA_REQUIRE(mbit > 0 && std::isfinite(mbit), "--trace.bandwidth_mbit: must be > 0, got ", mbit);
  s.deployment = {gflops * 1e9, latency_ms * 1e-3, mbit * 1e6 / 8, config.get<double>("trace.jitter")};
  TESSERA_REQUIRE(s.deployment.jitter >= 0 && s.deployment.jitter < 1, "--trace.jitter: must be in [0, 1), got ",
                  s.deployment.jitter);
  return s;
}

double max_weight_difference(const std::map<std::string, torch::Tensor>& a,
                             const std::map<std::string, torch::Tensor>& b) {
  double worst = 0;
  for (const auto& [name, tensor] : a) worst = std::max(worst, (tensor - b.at(name)).abs().max().item<double>());
  return worst;
}

int run(const Config& config, MPI_Comm world) {
  stop::install_handlers();  // a signal ends the run between steps, with no file left behind
  const auto folder = output_folder(config, world);
  const auto path = checked_output_file((std::filesystem::path(folder) / "serve.h5").string(), world);
  const auto settings = agree(world, [&] { return settings_from(config); });
  auto model = models::load(config.get<std::string>("model.checkpoint"), world,
                            config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  const auto& arch = models::architecture(model.info.arch);
  auto comm = make_communicator(config, world);
  auto targets = agree(world, [&] { return blocks::plan(*model.network, block_settings(config), comm->size()); });
  const trace::LogicalDevices devices(*model.network, targets, {arch.channels, arch.height, arch.width},
                                        config.get<std::uint64_t>("run.seed"));
  const auto plan_path = config.get<std::string>("serve.obfuscation");
  std::optional<streams::PlanFile> plan;
  std::unique_ptr<service::CoverTraffic> cover;
  if (!plan_path.empty()) {
    plan = agree(world, [&] {
      TESSERA_REQUIRE(std::filesystem::is_regular_file(plan_path), "--serve.obfuscation: '", plan_path, "' is not a file");
      streams::PlanFile read;
      try {
        read = streams::read_plan(plan_path, world);
      } catch (const Error& e) {
        throw Error(std::string("--serve.obfuscation: ") + e.what());
      }
      TESSERA_REQUIRE(read.devices == devices.count(), "--serve.obfuscation: '", plan_path, "' was planned on a trace of ",
                      read.devices, " devices, this service has ", devices.count(),
                      " (plan on a trace of this model with the same --blocks options and run.seed)");
      // The same count is not the same devices: another seed or placement gives other
      // ids, and a plan applied to them would hide nothing.
      TESSERA_REQUIRE(!read.deployment.empty(), "--serve.obfuscation: '", plan_path, "' was planned on a trace that "
                      "names no deployment (no /trace/truth): plan on a trace of this service");
      TESSERA_REQUIRE(read.deployment == trace::deployment_fingerprint(devices.layout()), "--serve.obfuscation: '",
                      plan_path, "' was planned for another deployment (other device ids: another run.seed, "
                      "--blocks option or model); plan on a trace of this service");
      return read;
    });
    // One step of the plain deployment: the padding the plan sends, and the step its
    // holds must not exceed.
    const auto one_step = devices.trace(1, settings.batch, settings.mode == "train", settings.deployment,
                                        config.get<std::uint64_t>("run.seed"));
    agree(world, [&] {
      try {
        streams::check_holds(one_step, plan->plan);
      } catch (const Error& e) {
        throw Error("--serve.obfuscation: '" + plan_path + "': " + e.what());
      }
    });
    cover = agree(world, [&] {
      return std::make_unique<service::CoverTraffic>(plan->plan, devices.host_rank(), comm->size(), comm->rank(),
                                                     &one_step.events);
    });
  }
  const auto data = agree(world, [&] {
    return data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"),
                      config.get<std::int64_t>("data.train_limit"), config.get<std::int64_t>("data.test_limit"));
  });
  std::int64_t device_count = 0;
  for (const auto& t : targets) device_count += t.placement.devices();
  log::info("serving ", model.info.arch, " on ", comm->size(), " ranks (", comm->backend(), ", ",
            comm->device().str(), "): ", device_count,
            " devices hold the blocks of ", targets.size(), " layer(s), ", devices.count(), " devices in all");

  auto reference = service::clone(*model.network, model.info.arch);
  const auto seed = config.get<std::uint64_t>("run.seed");
  service::Service served(model.network, targets, *comm, seed);
  if (cover) {
    served.set_cover(cover.get());
    log::info("serve: obfuscation plan '", plan_path, "': ", plan->plan.moves.size(), " moves, rank 0 sends ",
              cover->bytes_sent(0), " cover bytes forward and ", cover->bytes_sent(1), " backward per pass");
  }

  io::OutputFile file(path, world,
                      {"serve", config.ini_text(), seed, comm->size()});
  auto group = file.root().require_group("serve");
  group.set_attr("mode", settings.mode);
  group.set_attr("backend", comm->backend());
  group.set_attr("device", comm->device().str());
  group.set_attr("devices", devices.count());
  if (settings.mode == "infer") {
    auto report = service::infer(served, settings.check ? reference.get() : nullptr, data.test, settings.batch);
    log::info("served test accuracy ", report.accuracy, " on ", report.images, " images (monolithic ",
              report.reference_accuracy, "), max |logit difference| ", report.max_logit_diff, " (logits up to ",
              report.max_logit, "), ", log::seconds_text(report.seconds));
    group.set_attr("accuracy", report.accuracy);
    group.set_attr("reference_accuracy", report.reference_accuracy);
    group.set_attr("max_logit_diff", report.max_logit_diff);
    group.set_attr("max_logit", report.max_logit);
    group.set_attr("images", report.images);
    group.set_attr("seconds", report.seconds);
  } else {
    const auto losses = service::train_steps(served, data.train, settings.train);
    group.create_dataset<double>("loss", {losses.size()}).write(losses.data());
    if (settings.check) {
      // The same steps on one process with the full weights (and the same dropout masks).
      auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
      service::Service monolithic(reference, {}, *self, seed);
      const auto expected = service::train_steps(monolithic, data.train, settings.train, false);
      const double difference = max_weight_difference(served.assembled_parameters(), monolithic.assembled_parameters());
      log::info(settings.train.steps, " training steps: final loss ", losses.back(), " (monolithic ",
                expected.back(), "), max |weight difference| ", difference);
      group.set_attr("max_weight_diff", difference);
      group.set_attr("reference_final_loss", expected.back());
    }
  }
  blocks::write_targets(targets, file.root());
  auto trace = devices.trace(settings.trace_steps, settings.batch, settings.mode == "train", settings.deployment, seed);
  if (plan) {
    // What an eavesdropper sees of the service with its cover traffic, padding and
    // holds, and what they cost in the deployment's time.
    streams::PlanCost cost;
    trace = agree(world, [&] { return streams::obfuscate_trace(trace, plan->plan, seed, &cost); });
    group.set_attr("obfuscation", plan_path);
    group.set_attr("obfuscation_byte_fraction", cost.byte_fraction());
    group.set_attr("obfuscation_time_fraction", cost.time_fraction());
    log::info("serve: the obfuscated trace: +", 100 * cost.byte_fraction(), "% bytes, +", 100 * cost.message_fraction(),
              "% messages, the traced steps end ", 100 * cost.time_fraction(), "% later (", cost.extra_seconds,
              " s of the deployment's ", cost.seconds, " s)");
  }
  trace::write_trace(trace, file.root());
  // Peak resident memory of the largest rank, after everything (trace included) was built.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double peak_mib = usage.ru_maxrss / 1024.0;
  MPI_Allreduce(MPI_IN_PLACE, &peak_mib, 1, MPI_DOUBLE, MPI_MAX, world);
  group.set_attr("peak_rss_mib_max_rank", peak_mib);
  log::info("peak memory of the largest rank: ", peak_mib, " MiB");
  file.commit();
  log::info("wrote '", file.path(), "'");
  return 0;
}

}  // namespace
}  // namespace cmd_serve

const Command serve_command{"serve", "serve a model on simulated devices over the ranks (infer or train)",
                            cmd_serve::add_options, cmd_serve::run};

}  // namespace tessera::cli
