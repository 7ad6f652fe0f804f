#include "mixnn/experiment.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <optional>

#include "core/affinity.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/stop.hpp"
#include "io/output_file.hpp"
#include "mixnn/designer.hpp"
#include "mixnn/extraction.hpp"
#include "mixnn/keys.hpp"
#include "mixnn/output.hpp"
#include "mixnn/session.hpp"
#include "core/config.hpp"
#include "models/registry.hpp"

namespace tessera::mixnn {

// The steps of a run, in a namespace of their own (the library builds in batches).
namespace experiment {

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

// POSITION@STEP of --`option` (empty: none).
Injected parse_position(const std::string& text, const char* option, int servers, std::int64_t steps) {
  if (text.empty()) return {};
  const auto at = text.find('@');
  Injected p;
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

// What the checks decide: the parts, who keeps which, the cascade's length.
struct Plan {
  std::vector<PartPlan> plans;
  bool keeps_first = false, keeps_last = false;
  int parts = 0, servers = 0, pool = 0;
};

// The model and the training (collective; errors on every rank).
void check_model(const Settings& s, int world_size, Plan& plan, MPI_Comm world) {
  agree(world, [&] {
    TESSERA_REQUIRE(world_size >= 2, "tessera mixnn needs a designer and a pool: run it on 2 ranks or more "
                                     "(mpiexec -n 8 tessera mixnn ...)");
    models::architecture(s.arch);
    train::check(s.training);
    TESSERA_REQUIRE(s.training.lr_step == 0, "--train.lr_step: MixNN trains at one learning rate (the paper's SGD); "
                    "got ", s.training.lr_step);
  });
  agree(world, [&] {
    TESSERA_REQUIRE(s.layers_per_server >= 1, "--mixnn.layers_per_server: must be >= 1, got ", s.layers_per_server);
    const auto network = models::build(s.arch, 0);
    int layers = 0;
    for (const auto& step : network->steps()) layers += step.has_parameters ? 1 : 0;
    TESSERA_REQUIRE(s.layers_per_server <= layers, "--mixnn.layers_per_server: at most the ", layers, " layers of ",
                    s.arch, ", got ", s.layers_per_server);
    plan.plans = plan_parts(*network, s.layers_per_server);
    // MixNN trains the designer's fresh model; a model file would be ignored.
    TESSERA_REQUIRE(s.model_file.empty(), "--model.checkpoint: tessera mixnn trains "
                    "its model from the designer's initialisation (--run.seed) and reads no model file");
  });
  plan.parts = static_cast<int>(plan.plans.size());
}

// The cascade, the pool and the network's settings (collective).
void check_cascade(const Settings& s, int world_size, Plan& plan, MPI_Comm world) {
  agree(world, [&] {
    for (const auto& item : split_list(s.designer_keeps, "--mixnn.designer_keeps")) {
      TESSERA_REQUIRE(item == "first" || item == "last", "--mixnn.designer_keeps: 'first', 'last' or both, got '",
                      item, "'");
      (item == "first" ? plan.keeps_first : plan.keeps_last) = true;
    }
    TESSERA_REQUIRE(s.dummies >= 0, "--mixnn.dummies: must be >= 0, got ", s.dummies);
    const int real = plan.parts - (plan.keeps_first ? 1 : 0) - (plan.keeps_last ? 1 : 0);
    TESSERA_REQUIRE(real >= 1 || s.dummies == 0, "--mixnn.dummies=", s.dummies,
                    ": the dummies have nothing to relay: the designer keeps every part of ", s.arch, " (", plan.parts,
                    " parts with --mixnn.layers_per_server=", s.layers_per_server, ")");
    TESSERA_REQUIRE(real >= 1, "--mixnn.designer_keeps=", s.designer_keeps, ": nothing is left for the servers (",
                    s.arch, " has ", plan.parts, " parts with --mixnn.layers_per_server=", s.layers_per_server, ")");
    plan.servers = real + s.dummies;
    TESSERA_REQUIRE(plan.servers + 1 <= kMaxHops, "a cascade of ", plan.servers, " servers is longer than a packet's ",
                    kMaxHops - 1, " hops: fewer --mixnn.dummies or more --mixnn.layers_per_server");
    plan.pool = s.pool == 0 ? world_size - 1 : s.pool;
    TESSERA_REQUIRE(s.pool >= 0 && plan.pool <= world_size - 1, "--mixnn.pool=", s.pool, ": 0 or 1 to ",
                    world_size - 1, " (the ranks besides the designer)");
    TESSERA_REQUIRE(plan.pool >= plan.servers, "--mixnn.pool: the pool has ", plan.pool, " servers, fewer than the ",
                    plan.servers, " of the cascade (", real, " parts + ", s.dummies,
                    " dummies): run on more ranks or use fewer --mixnn.dummies");
    TESSERA_REQUIRE(std::isfinite(s.loop_rate) && s.loop_rate >= 0,
                    "--mixnn.loop_rate: must be a finite number >= 0, got ", s.loop_rate);
    for (auto [option, v] : {std::pair{"mixnn.timeout_factor", s.timeout_factor},
                             std::pair{"mixnn.min_timeout", s.min_timeout},
                             std::pair{"mixnn.startup_timeout", s.startup_timeout}})
      TESSERA_REQUIRE(std::isfinite(v) && v > 0, "--", option, ": must be a finite number > 0, got ", v);
    TESSERA_REQUIRE(s.max_rebuilds >= 0, "--mixnn.max_rebuilds: must be >= 0");
    TESSERA_REQUIRE(s.bind == "auto" || s.bind == "none", "--mixnn.bind: 'auto' or 'none', got '", s.bind, "'");
  });
}

// The adversary's parts, checked before the data is read (collective).
std::vector<int> check_adversary(const Settings& s, const Plan& plan, MPI_Comm world) {
  return agree(world, [&] {
    auto parts_of = parse_adversary(s.adversary, plan.parts, plan.keeps_first, plan.keeps_last);
    if (parts_of.empty()) return parts_of;
    const bool failures = !s.crash.empty() || !s.byzantine.empty();
    TESSERA_REQUIRE(!failures, "--mixnn.adversary: the extraction needs the cascade the adversary was placed in to "
                               "finish the run; leave out --mixnn.crash and --mixnn.byzantine");
    TESSERA_REQUIRE(s.public_epochs >= 1, "--mixnn.public_epochs: must be >= 1, got ", s.public_epochs);
    return parts_of;
  });
}

// --mixnn.keys (collective; empty: none, fresh keys).
std::vector<KeyPair> read_pool_keys(const std::string& path, int world_size, MPI_Comm world) {
  if (path.empty()) return {};
  return agree(world, [&] {
    auto k = read_key_file(path);
    TESSERA_REQUIRE(static_cast<int>(k.size()) >= world_size - 1, "--mixnn.keys: '", path, "' holds ", k.size(),
                    " keys, the pool needs ", world_size - 1);
    return k;
  });
}

DesignerOptions designer_options(const Settings& s, const Plan& plan) {
  DesignerOptions o;
  o.arch = s.arch;
  o.plans = plan.plans;
  o.settings = s.training;
  o.keeps_first = plan.keeps_first;
  o.keeps_last = plan.keeps_last;
  o.dummies = s.dummies;
  o.loop_rate = s.loop_rate;
  o.timeout_factor = s.timeout_factor;
  o.min_timeout = s.min_timeout;
  o.startup_timeout = s.startup_timeout;
  o.max_rebuilds = s.max_rebuilds;
  o.seed = s.training.seed;
  o.message_bytes = largest_message(s.arch, plan.plans, plan.keeps_first ? 1 : 0,
                                    plan.parts - (plan.keeps_last ? 1 : 0), s.training.batch);
  return o;
}

// Open MPI's MPI_Finalize begins with a fence over every process of the job, and a
// process that died (a server killed under `mpiexec --enable-recovery`) may never be
// let out of it: the ranks alive would wait in MPI_Finalize forever. A run that lost
// ranks skips that fence (Open MPI's own switch for it; nothing with another MPI).
void finalize_without_the_dead() {
  // ompi_async_mpi_finalize: "Do not perform a barrier at the beginning of MPI_Finalize".
  if (auto* skip_fence = static_cast<bool*>(dlsym(RTLD_DEFAULT, "ompi_async_mpi_finalize"))) *skip_fence = true;
}

// The pool's keys to --mixnn.save_keys, when every server is alive to give its own.
void save_pool_keys(const std::string& path, const Session& run, int world_size, MPI_Comm living) {
  if (path.empty()) return;
  if (size_of(living) != world_size) {
    log::info("MixNN: --mixnn.save_keys: '", path, "' not written: a server crashed and its key went with it");
    return;
  }
  std::vector<std::uint8_t> secrets(32 * world_size);
  MPI_Gather(run.keys.secret_key.data(), 32, MPI_BYTE, secrets.data(), 32, MPI_BYTE, 0, living);
  agree(living, [&] {
    if (rank_of(living) != 0) return;
    std::vector<KeyPair> pool;
    for (int r = 1; r < world_size; ++r) {
      Key secret;
      std::copy_n(secrets.begin() + 32 * r, 32, secret.begin());
      pool.push_back(key_pair_of(secret));
    }
    write_key_file(path, pool);
  });
}

// The adversary of Theorem 1, on the designer (nothing elsewhere).
std::optional<ExtractionReport> extract(const Settings& s, const Plan& plan, const Session& run,
                                        const data::Split& public_data, const ExtractionSettings& extraction,
                                        const data::Split& test, MPI_Comm living) {
  std::optional<ExtractionReport> extracted;
  agree(living, [&] {
    if (rank_of(living) != 0) return;
    log::info("MixNN extraction: the adversary holds parts ", s.adversary, "; ", s.public_images, " public images, ",
              extraction.settings.epochs, " epochs");
    extracted = assess(reconstruct(s.arch, plan.plans, run.observed, public_data, extraction), s.arch, plan.plans,
                       run.result.final_states, test);
    log::info("MixNN extraction: victim accuracy ", extracted->victim_accuracy, "; the adversary's model ",
              extracted->learned.accuracy, " (agreement ", extracted->learned.agreement, "), fine-tuned ",
              extracted->fine_tuned.accuracy, ", public data alone ", extracted->public_only.accuracy, "; parts ",
              extracted->middle_first + 1, "-", extracted->middle_last + 1, " relative error ",
              extracted->middle_error);
  });
  return extracted;
}

// Marks the file complete or not and commits it (collective); stop::Stopped when a
// signal ended the run (`stopped_by`: the designer's).
void commit(io::OutputFile& file, const std::string& path, int stopped_by, MPI_Comm living) {
  MPI_Bcast(&stopped_by, 1, MPI_INT, 0, living);
  const auto group = file.root().group("mixnn");
  group.set_attr("complete", static_cast<std::int64_t>(stopped_by == 0));
  group.set_attr("stopped_by", stopped_by ? stop::signal_name(stopped_by) : std::string());
  file.commit();
  if (stopped_by)
    throw stop::Stopped(stop::signal_name(stopped_by) + " received: the epochs done so far written to '" + path +
                        "' with complete = 0");
  log::info("wrote '", path, "'");
}

}  // namespace experiment

int run(const Settings& s, const Inputs& inputs, MPI_Comm world) {
  using namespace experiment;
  // A signal ends the run after the designer's current epoch, with the epochs done written.
  stop::install_handlers();
  const int me = rank_of(world), world_size = size_of(world);
  Plan plan;
  check_model(s, world_size, plan, world);
  check_cascade(s, world_size, plan, world);
  ExtractionSettings extraction;
  extraction.settings = s.training;
  extraction.settings.epochs = s.public_epochs;
  const auto adversary = check_adversary(s, plan, world);
  SessionSetup session;
  session.pool_keys = read_pool_keys(s.keys, world_size, world);

  const auto data = inputs.data(s.arch);
  const std::int64_t steps = (data.train.size() + s.training.batch - 1) / s.training.batch * s.training.epochs;
  session.crash = agree(world, [&] { return parse_position(s.crash, "mixnn.crash", plan.servers, steps); });
  session.byzantine = agree(world, [&] { return parse_position(s.byzantine, "mixnn.byzantine", plan.servers, steps); });
  const auto public_data = adversary.empty() ? data::Split{} : inputs.public_data(data);
  session.pool = plan.pool;
  session.adversary_parts = adversary;
  session.designer = designer_options(s, plan);
  MixnnRun record{s.arch, plan.plans, s.designer_keeps, plan.pool, s.dummies, s.loop_rate,
                  session.designer.message_bytes, packet_bytes(session.designer.message_bytes), {}, -1, -1};
  const auto path = inputs.output_path();
  if (!s.save_keys.empty())
    agree(world, [&] {
      if (me == 0)
        TESSERA_REQUIRE(std::ofstream(s.save_keys).good(), "--mixnn.save_keys: cannot write '", s.save_keys, "'");
    });
  log::info("MixNN: ", s.arch, " in ", plan.parts, " parts, ", plan.servers, " servers (", plan.servers - s.dummies,
            " real, ", s.dummies, " dummies) from a pool of ", plan.pool, "; packets of ", record.packet_bytes, " bytes");

  if (s.bind == "auto") {
    const auto bound = bind_oversubscribed_ranks(world);
    if (bound.core >= 0) log::info("MixNN: every rank bound to one core (", bound.reason, "; --mixnn.bind=none leaves them free)");
  }
  auto run = run_session(session, data, world);
  // From here on the ranks alive: a server that crashed for real is not waited for.
  if (run.comm == MPI_COMM_NULL) {  // this rank was left out (session.hpp); the others write
    finalize_without_the_dead();
    return 0;
  }
  const MPI_Comm living = run.comm;
  if (size_of(living) != world_size) finalize_without_the_dead();
  record.crash_rank = run.crash_rank;
  record.byzantine_rank = run.byzantine_rank;
  record.injected = {session.crash.step, session.byzantine.step};
  save_pool_keys(s.save_keys, run, world_size, living);
  const auto extracted = adversary.empty() ? std::nullopt
                                           : extract(s, plan, run, public_data, extraction, data.test, living);

  io::OutputFile file(path, living, {"mixnn", inputs.config_text, s.training.seed});
  write_mixnn(file.root(), record, run.result, run.mine, *run.transport, living, run.alive);
  if (!adversary.empty()) write_extraction(file.root(), adversary, s.public_images, extraction, extracted, living);
  commit(file, path, run.result.stopped_by, living);
  return 0;
}

}  // namespace tessera::mixnn
