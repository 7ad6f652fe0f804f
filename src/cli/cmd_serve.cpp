// tessera serve: the S0 system. Loads a model file, cuts the target layers into
// blocks held by simulated devices on the ranks, and runs distributed inference
// on the test set or distributed training steps, checked against the monolithic
// model; writes the placement and the logical stream trace.
#include <cmath>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/stop.hpp"
#include "models/model_file.hpp"
#include "service/serving.hpp"

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

service::ServeSettings settings_from(const Config& config) {
  service::ServeSettings s;
  s.mode = config.get<std::string>("serve.mode");
  s.batch = config.get<std::int64_t>("serve.batch");
  s.trace_steps = config.get<std::int64_t>("trace.steps");
  s.check = config.get<bool>("serve.check");
  s.obfuscation = config.get<std::string>("serve.obfuscation");
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

int run(const Config& config, MPI_Comm world) {
  stop::install_handlers();  // a signal ends the run between steps, with no file left behind
  service::ServeInputs inputs;
  inputs.path = checked_output_file((std::filesystem::path(output_folder(config, world)) / "serve.h5").string(), world);
  const auto settings = agree(world, [&] { return settings_from(config); });
  inputs.model = models::load(config.get<std::string>("model.checkpoint"), world,
                              config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  auto comm = make_communicator(config, world);
  inputs.comm = comm.get();
  inputs.targets =
      agree(world, [&] { return blocks::plan(*inputs.model.network, block_settings(config), comm->size()); });
  inputs.data = [&] {
    return agree(world, [&] {
      return data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"),
                        config.get<std::int64_t>("data.train_limit"), config.get<std::int64_t>("data.test_limit"));
    });
  };
  inputs.config_text = config.ini_text();
  service::serve(settings, inputs, world);
  return 0;
}

}  // namespace
}  // namespace cmd_serve

const Command serve_command{"serve", "serve a model on simulated devices over the ranks (infer or train)",
                            cmd_serve::add_options, cmd_serve::run};

}  // namespace tessera::cli
