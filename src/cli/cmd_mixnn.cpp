// tessera mixnn: MixNN (the second seed): the model cut into layers, one per server
// of a cascade picked from a pool of ranks, trained through onion-routed packets of
// one size with dummies and loop messages, crash and Byzantine failures injected and
// handled, and the plain model trained on the same batches beside it.
// docs/DESIGN.md section 11.
#include <algorithm>
#include <fstream>
#include <optional>

#include "cli/commands.hpp"
#include "mixnn/output.hpp"
#include "cli/options.hpp"
#include "cli/runtime.hpp"
#include "core/affinity.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "mixnn/designer.hpp"
#include "mixnn/extraction.hpp"
#include "mixnn/keys.hpp"
#include "mixnn/session.hpp"

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

// The 0-based parts of --mixnn.adversary ("2,4,6" -> 1, 3, 5): distinct, served by
// the cascade (not kept by the designer).
std::vector<int> parse_adversary(const std::string& text, int parts, bool keeps_first, bool keeps_last) {
  std::vector<int> out;
  for (const auto& item : split_list(text, "--mixnn.adversary")) {
    int part = 0;
    try {
      std::size_t used = 0;
      part = std::stoi(item, &used);
      TESSERA_REQUIRE(used == item.size(), "");
    } catch (const std::exception&) {
      throw Error("--mixnn.adversary=" + text + ": '" + item + "' is not a part number (1 to " +
                  std::to_string(parts) + ")");
    }
    TESSERA_REQUIRE(part >= 1 && part <= parts, "--mixnn.adversary=", text, ": part ", part,
                    " does not exist (the model has parts 1 to ", parts, ")");
    TESSERA_REQUIRE((part != 1 || !keeps_first) && (part != parts || !keeps_last), "--mixnn.adversary=", text,
                    ": part ", part, " is kept by the designer (--mixnn.designer_keeps), no server holds it");
    TESSERA_REQUIRE(std::count(out.begin(), out.end(), part - 1) == 0, "--mixnn.adversary=", text, ": part ", part,
                    " is named twice");
    out.push_back(part - 1);
  }
  return out;
}

struct Position {
  int position = -1;
  std::int64_t step = -1;
};

Position parse_position(const Config& config, const char* option, int servers, std::int64_t steps) {
  const auto text = config.get<std::string>(option);
  if (text.empty()) return {};
  const auto at = text.find('@');
  Position p;
  try {
    std::size_t used = 0;
    TESSERA_REQUIRE(at != std::string::npos, "");
    p.position = std::stoi(text.substr(0, at), &used);
    TESSERA_REQUIRE(used == at, "");
    p.step = std::stoll(text.substr(at + 1), &used);
    TESSERA_REQUIRE(used == text.size() - at - 1, "");
  } catch (const std::exception&) {
    throw Error("--" + std::string(option) + "=" + text + ": expected POSITION@STEP, e.g. 2@100");
  }
  TESSERA_REQUIRE(p.position >= 1 && p.position <= servers, "--", option, "=", text, ": position ", p.position,
                  " is outside the cascade (servers 1 to ", servers, ")");
  TESSERA_REQUIRE(p.step >= 0 && p.step < steps, "--", option, "=", text, ": step ", p.step,
                  " is outside the training (steps 0 to ", steps - 1, ")");
  return p;
}

int run(const Config& config, MPI_Comm world) {
  // A signal ends the run after the designer's current epoch, with the epochs done written.
  stop::install_handlers();
  const int me = rank_of(world), world_size = size_of(world);
  const auto arch = config.get<std::string>("model.arch");
  mixnn::MixnnRun setup;
  setup.arch = arch;
  const auto settings = agree(world, [&] {
    TESSERA_REQUIRE(world_size >= 2, "tessera mixnn needs a designer and a pool: run it on 2 ranks or more "
                                     "(mpiexec -n 8 tessera mixnn ...)");
    models::architecture(arch);
    auto s = train::training_settings(config);
    TESSERA_REQUIRE(s.lr_step == 0, "--train.lr_step: MixNN trains at one learning rate (the paper's SGD); got ",
                    s.lr_step);
    return s;
  });
  const int per_server = config.get<int>("mixnn.layers_per_server");
  agree(world, [&] {
    TESSERA_REQUIRE(per_server >= 1, "--mixnn.layers_per_server: must be >= 1, got ", per_server);
    const auto network = models::build(arch, 0);
    int layers = 0;
    for (const auto& step : network->steps()) layers += step.has_parameters ? 1 : 0;
    TESSERA_REQUIRE(per_server <= layers, "--mixnn.layers_per_server: at most the ", layers, " layers of ", arch,
                    ", got ", per_server);
    setup.plans = mixnn::plan_parts(*network, per_server);
    // MixNN trains the designer's fresh model; a model file would be ignored.
    TESSERA_REQUIRE(config.get<std::string>("model.checkpoint").empty(), "--model.checkpoint: tessera mixnn trains "
                    "its model from the designer's initialisation (--run.seed) and reads no model file");
  });
  const auto keeps = config.get<std::string>("mixnn.designer_keeps");
  bool keeps_first = false, keeps_last = false;
  const int pool_option = config.get<int>("mixnn.pool");
  setup.dummies = config.get<int>("mixnn.dummies");
  setup.loop_rate = config.get<double>("mixnn.loop_rate");
  setup.designer_keeps = keeps;
  const int parts = static_cast<int>(setup.plans.size());
  int servers = 0;
  agree(world, [&] {
    for (const auto& item : split_list(keeps, "--mixnn.designer_keeps")) {
      TESSERA_REQUIRE(item == "first" || item == "last", "--mixnn.designer_keeps: 'first', 'last' or both, got '",
                      item, "'");
      (item == "first" ? keeps_first : keeps_last) = true;
    }
    TESSERA_REQUIRE(setup.dummies >= 0, "--mixnn.dummies: must be >= 0, got ", setup.dummies);
    const int real = parts - (keeps_first ? 1 : 0) - (keeps_last ? 1 : 0);
    TESSERA_REQUIRE(real >= 1 || setup.dummies == 0, "--mixnn.dummies=", setup.dummies,
                    ": the dummies have nothing to relay: the designer keeps every part of ", arch, " (", parts,
                    " parts with --mixnn.layers_per_server=", per_server, ")");
    TESSERA_REQUIRE(real >= 1, "--mixnn.designer_keeps=", keeps, ": nothing is left for the servers (", arch, " has ",
                    parts, " parts with --mixnn.layers_per_server=", per_server, ")");
    servers = real + setup.dummies;
    TESSERA_REQUIRE(servers + 1 <= mixnn::kMaxHops, "a cascade of ", servers, " servers is longer than a packet's ",
                    mixnn::kMaxHops - 1, " hops: fewer --mixnn.dummies or more --mixnn.layers_per_server");
    setup.pool = pool_option == 0 ? world_size - 1 : pool_option;
    TESSERA_REQUIRE(pool_option >= 0 && setup.pool <= world_size - 1, "--mixnn.pool=", pool_option, ": 0 or 1 to ",
                    world_size - 1, " (the ranks besides the designer)");
    TESSERA_REQUIRE(setup.pool >= servers, "--mixnn.pool: the pool has ", setup.pool, " servers, fewer than the ",
                    servers, " of the cascade (", real, " parts + ", setup.dummies,
                    " dummies): run on more ranks or use fewer --mixnn.dummies");
    TESSERA_REQUIRE(std::isfinite(setup.loop_rate) && setup.loop_rate >= 0,
                    "--mixnn.loop_rate: must be a finite number >= 0, got ", setup.loop_rate);
    for (const char* o : {"mixnn.timeout_factor", "mixnn.min_timeout", "mixnn.startup_timeout"}) {
      const double v = config.get<double>(o);
      TESSERA_REQUIRE(std::isfinite(v) && v > 0, "--", o, ": must be a finite number > 0, got ", v);
    }
    TESSERA_REQUIRE(config.get<int>("mixnn.max_rebuilds") >= 0, "--mixnn.max_rebuilds: must be >= 0");
    const auto bind = config.get<std::string>("mixnn.bind");
    TESSERA_REQUIRE(bind == "auto" || bind == "none", "--mixnn.bind: 'auto' or 'none', got '", bind, "'");
  });
  // What can be checked without the data is checked before it is read (every rank reads it).
  const auto adversary_text = config.get<std::string>("mixnn.adversary");
  mixnn::ExtractionSettings extraction;
  extraction.settings = settings;
  extraction.settings.epochs = config.get<int>("mixnn.public_epochs");
  const auto public_images = config.get<std::int64_t>("adversary.public");
  const auto adversary = agree(world, [&] {
    auto parts_of = parse_adversary(adversary_text, parts, keeps_first, keeps_last);
    if (parts_of.empty()) return parts_of;
    const bool failures = !config.get<std::string>("mixnn.crash").empty() ||
                          !config.get<std::string>("mixnn.byzantine").empty();
    TESSERA_REQUIRE(!failures, "--mixnn.adversary: the extraction needs the cascade the adversary was placed in to "
                               "finish the run; leave out --mixnn.crash and --mixnn.byzantine");
    TESSERA_REQUIRE(extraction.settings.epochs >= 1, "--mixnn.public_epochs: must be >= 1, got ",
                    extraction.settings.epochs);
    return parts_of;
  });
  mixnn::SessionSetup session;
  const auto key_path = config.get<std::string>("mixnn.keys");
  if (!key_path.empty())
    session.pool_keys = agree(world, [&] {
      auto k = mixnn::read_key_file(key_path);
      TESSERA_REQUIRE(static_cast<int>(k.size()) >= world_size - 1, "--mixnn.keys: '", key_path, "' holds ",
                      k.size(), " keys, the pool needs ", world_size - 1);
      return k;
    });

  const auto data = load_data_for(config, arch, world);
  const std::int64_t steps_per_epoch = (data.train.size() + settings.batch - 1) / settings.batch;
  const auto [crash, byzantine] = agree(world, [&] {
    const auto total = steps_per_epoch * settings.epochs;
    return std::make_pair(parse_position(config, "mixnn.crash", servers, total),
                          parse_position(config, "mixnn.byzantine", servers, total));
  });
  const auto public_data = adversary.empty() ? data::Split{} : public_split(data, config, world);

  session.pool = setup.pool;
  session.adversary_parts = adversary;
  session.crash = {crash.position, crash.step};
  session.byzantine = {byzantine.position, byzantine.step};
  auto& o = session.designer;
  o.arch = arch;
  o.plans = setup.plans;
  o.settings = settings;
  o.keeps_first = keeps_first;
  o.keeps_last = keeps_last;
  o.dummies = setup.dummies;
  o.loop_rate = setup.loop_rate;
  o.timeout_factor = config.get<double>("mixnn.timeout_factor");
  o.min_timeout = config.get<double>("mixnn.min_timeout");
  o.startup_timeout = config.get<double>("mixnn.startup_timeout");
  o.max_rebuilds = config.get<int>("mixnn.max_rebuilds");
  o.seed = settings.seed;
  o.message_bytes = mixnn::largest_message(arch, setup.plans, keeps_first ? 1 : 0, parts - (keeps_last ? 1 : 0),
                                           settings.batch);
  setup.message_bytes = o.message_bytes;
  setup.packet_bytes = mixnn::packet_bytes(o.message_bytes);
  const auto path = checked_output_file(output_path(config, world, "mixnn"), world);
  const auto save_keys = config.get<std::string>("mixnn.save_keys");
  if (!save_keys.empty())
    agree(world, [&] {
      if (me == 0)
        TESSERA_REQUIRE(std::ofstream(save_keys).good(), "--mixnn.save_keys: cannot write '", save_keys, "'");
    });
  log::info("MixNN: ", arch, " in ", parts, " parts, ", servers, " servers (", servers - setup.dummies, " real, ",
            setup.dummies, " dummies) from a pool of ", setup.pool, "; packets of ", setup.packet_bytes, " bytes");

  if (config.get<std::string>("mixnn.bind") == "auto") {
    const auto bound = bind_oversubscribed_ranks(world);
    if (bound.core >= 0) log::info("MixNN: every rank bound to one core (", bound.reason, "; --mixnn.bind=none leaves them free)");
  }
  auto run = mixnn::run_session(session, data, world);
  // From here on the ranks alive: a server that crashed for real is not waited for.
  if (run.comm == MPI_COMM_NULL) {  // this rank was left out (session.hpp); the others write
    finalize_without_the_dead();
    return 0;
  }
  const MPI_Comm living = run.comm;
  const bool all_alive = size_of(living) == world_size;
  if (!all_alive) finalize_without_the_dead();
  setup.crash_rank = run.crash_rank;
  setup.byzantine_rank = run.byzantine_rank;
  setup.injected = {crash.step, byzantine.step};
  if (!save_keys.empty() && !all_alive)
    log::info("MixNN: --mixnn.save_keys: '", save_keys, "' not written: a server crashed and its key went with it");
  if (!save_keys.empty() && all_alive) {
    std::vector<std::uint8_t> secrets(32 * world_size);
    MPI_Gather(run.keys.secret_key.data(), 32, MPI_BYTE, secrets.data(), 32, MPI_BYTE, 0, living);
    agree(living, [&] {
      if (me != 0) return;
      std::vector<mixnn::KeyPair> pool;
      for (int r = 1; r < world_size; ++r) {
        mixnn::Key secret;
        std::copy_n(secrets.begin() + 32 * r, 32, secret.begin());
        pool.push_back(mixnn::key_pair_of(secret));
      }
      mixnn::write_key_file(save_keys, pool);
    });
  }

  std::optional<mixnn::ExtractionReport> extracted;
  if (!adversary.empty())
    agree(living, [&] {
      if (me != 0) return;
      log::info("MixNN extraction: the adversary holds parts ", adversary_text, "; ", public_images,
                " public images, ", extraction.settings.epochs, " epochs");
      extracted = mixnn::assess(mixnn::reconstruct(arch, setup.plans, run.observed, public_data, extraction), arch,
                                setup.plans, run.result.final_states, data.test);
      log::info("MixNN extraction: victim accuracy ", extracted->victim_accuracy, "; the adversary's model ",
                extracted->learned.accuracy, " (agreement ", extracted->learned.agreement, "), fine-tuned ",
                extracted->fine_tuned.accuracy, ", public data alone ", extracted->public_only.accuracy,
                "; parts ", extracted->middle_first + 1, "-", extracted->middle_last + 1,
                " relative error ", extracted->middle_error);
    });

  int stopped_by = run.result.stopped_by;  // the designer's
  MPI_Bcast(&stopped_by, 1, MPI_INT, 0, living);
  io::OutputFile file(path, living, {"mixnn", config.ini_text(), settings.seed});
  mixnn::write_mixnn(file.root(), setup, run.result, run.mine, *run.transport, living, run.alive);
  if (!adversary.empty()) mixnn::write_extraction(file.root(), adversary, public_images, extraction, extracted, living);
  const auto group = file.root().group("mixnn");
  group.set_attr("complete", static_cast<std::int64_t>(stopped_by == 0));
  group.set_attr("stopped_by", stopped_by ? stop::signal_name(stopped_by) : std::string());
  file.commit();
  if (stopped_by)
    throw stop::Stopped(stop::signal_name(stopped_by) + " received: the epochs done so far written to '" + path +
                        "' with complete = 0");
  log::info("wrote '", path, "'");
  return 0;
}

}  // namespace
}  // namespace cmd_mixnn

const Command mixnn_command{"mixnn",
                            "MixNN: train through a cascade of onion-routed servers with dummies, loop messages and "
                            "failure handling, beside the plain model",
                            cmd_mixnn::add_options, cmd_mixnn::run};

}  // namespace tessera::cli
