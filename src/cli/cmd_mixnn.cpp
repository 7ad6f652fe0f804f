// tessera mixnn: MixNN (the second seed): the model cut into layers, one per server
// of a cascade picked from a pool of ranks, trained through onion-routed packets of
// one size with dummies and loop messages, crash and Byzantine failures injected and
// handled, and the plain model trained on the same batches beside it. The options
// are read here; the run is mixnn::run (mixnn/experiment.hpp, docs/DESIGN.md section 11).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "mixnn/experiment.hpp"

namespace tessera::cli {

namespace cmd_mixnn {
namespace {

train::Settings paper_sgd() {
  train::Settings s;  // MixNN section 5.1: batch 64, learning rate 0.01, momentum 0.9
  s.epochs = 5;
  s.batch = 64;
  s.lr = 0.01;
  s.momentum = 0.9;
  s.weight_decay = 0;
  return s;
}

void add_options(po::options_description& options) {
  add_common_options(options, "mixnn", "mlp-mixnn");
  add_training_options(options, paper_sgd());
  add_run_name_option(options);
  add_adversary_options(options);  // --adversary.public: the extraction's public images (--mixnn.adversary)
  options.add_options()
    ("mixnn.pool", po::value<int>()->default_value(0),
     "servers in the pool: ranks 1..pool (0 = every rank but the designer's, rank 0)")
    ("mixnn.dummies", po::value<int>()->default_value(2), "dummy servers hidden among the real ones (they relay)")
    ("mixnn.layers_per_server", po::value<int>()->default_value(1),
     "layers with parameters per server (adjacent layers, MixNN section 4.6.1)")
    ("mixnn.designer_keeps", po::value<std::string>()->default_value(""),
     "parts the designer runs itself: first, last, first,last or empty (MixNN section 4.4)")
    ("mixnn.loop_rate", real_value(0.5), "loop messages the designer sends per training step (Poisson mean)")
    ("mixnn.bind", po::value<std::string>()->default_value("auto"),
     "auto: on a node with more ranks than cores, bind each rank to one core, round robin (as mpiexec --bind-to "
     "core:overload-allowed), unless the launcher bound it already; none: leave the ranks where the launcher put "
     "them")
    ("mixnn.timeout_factor", real_value(50),
     "T = this x the median round trip of the first 20 steps (T >> n delta + (n-1) t)")
    ("mixnn.min_timeout", real_value(0.25), "T is never below this (seconds)")
    ("mixnn.startup_timeout", real_value(60), "T before the round trip is measured (seconds)")
    ("mixnn.max_rebuilds", po::value<int>()->default_value(3), "failed cascades the run survives")
    ("mixnn.crash", po::value<std::string>()->default_value(""),
     "inject a crash: POSITION@STEP, the server at POSITION (1 = first) of the first cascade stops answering "
     "from training step STEP (from 0)")
    ("mixnn.byzantine", po::value<std::string>()->default_value(""),
     "inject a Byzantine server: POSITION@STEP, it negates the activations it sends from step STEP on")
    ("mixnn.keys", po::value<std::string>()->default_value(""),
     "key file of the pool: one X25519 secret key per line (64 hex digits), in rank order (empty = fresh keys)")
    ("mixnn.save_keys", po::value<std::string>()->default_value(""),
     "write the pool's keys to this file (the --mixnn.keys format)")
    ("mixnn.adversary", po::value<std::string>()->default_value(""),
     "parts (1 = first) whose servers the adversary controls, e.g. 2,4,6 with --model.arch=mlp7 (MixNN Theorem 1, "
     "case ii): they record the test phase; after the run the adversary solves each honest part between two of "
     "its own by least squares, learns the others on public data, fine-tunes, and is compared with the victim "
     "(/mixnn/extraction)")
    ("mixnn.public_epochs", po::value<int>()->default_value(5),
     "epochs the adversary trains on its public data (--adversary.public; each of: the honest ends, the "
     "fine-tune, the baseline)");
}

mixnn::Settings mixnn_settings(const Config& config) {
  mixnn::Settings s;
  s.arch = config.get<std::string>("model.arch");
  s.model_file = config.get<std::string>("model.checkpoint");
  s.training = train::read_training_settings(config);
  s.layers_per_server = config.get<int>("mixnn.layers_per_server");
  s.pool = config.get<int>("mixnn.pool");
  s.dummies = config.get<int>("mixnn.dummies");
  s.max_rebuilds = config.get<int>("mixnn.max_rebuilds");
  s.public_epochs = config.get<int>("mixnn.public_epochs");
  s.designer_keeps = config.get<std::string>("mixnn.designer_keeps");
  s.loop_rate = config.get<double>("mixnn.loop_rate");
  s.timeout_factor = config.get<double>("mixnn.timeout_factor");
  s.min_timeout = config.get<double>("mixnn.min_timeout");
  s.startup_timeout = config.get<double>("mixnn.startup_timeout");
  s.bind = config.get<std::string>("mixnn.bind");
  s.crash = config.get<std::string>("mixnn.crash");
  s.byzantine = config.get<std::string>("mixnn.byzantine");
  s.keys = config.get<std::string>("mixnn.keys");
  s.save_keys = config.get<std::string>("mixnn.save_keys");
  s.adversary = config.get<std::string>("mixnn.adversary");
  s.public_images = config.get<std::int64_t>("adversary.public");
  return s;
}

int run(const Config& config, MPI_Comm world) {
  mixnn::Inputs inputs;
  inputs.data = [&](const std::string& arch) { return load_data_for(config, arch, world); };
  inputs.public_data = [&](const data::Dataset& data) { return public_split(data, config, world); };
  inputs.output_path = [&] { return checked_output_file(output_path(config, world, "mixnn"), world); };
  inputs.config_text = config.ini_text();
  return mixnn::run(mixnn_settings(config), inputs, world);
}

}  // namespace
}  // namespace cmd_mixnn

const Command mixnn_command{"mixnn",
                            "MixNN: train through a cascade of onion-routed servers with dummies, loop messages and "
                            "failure handling, beside the plain model",
                            cmd_mixnn::add_options, cmd_mixnn::run};

}  // namespace tessera::cli
