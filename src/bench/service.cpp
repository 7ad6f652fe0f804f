// tessera bench service: the time of one training step (and one inference pass)
// of the served model on all ranks of the job, one thread each, against the
// monolithic LibTorch model on rank 0 with as many threads as the job has ranks,
// measured alternately in the same run, and the served training step again with the
// cover traffic of a random obfuscation plan (--bench.cover_bytes of the step's bytes,
// padding to --bench.pad_bytes included, sent between the ranks) against the plain
// one; beside it, the step of the deployment the trace models with the plan's holds
// (--bench.jitter_ms) and padding against the plain step. Prints medians and ratios
// per block size.
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "comm/device.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "service/runner.hpp"
#include "streams/obfuscation_search.hpp"
#include "trace/devices.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace service_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  add_block_options(options);
  add_comm_options(options);
  options.add_options()
    ("bench.block_sizes", po::value<std::string>()->default_value("64,16"),
     "square block sizes to measure, comma-separated (overrides blocks.bh/bw)")
    ("bench.batch", po::value<std::int64_t>()->default_value(256), "images per step")
    ("bench.cover_bytes", po::value<double>()->default_value(0.2, "0.2"),
     "the covered training step: a random obfuscation plan adding this fraction of the step's bytes in cover "
     "traffic, sent between the ranks that host its devices (serve --serve.obfuscation)")
    ("bench.pad_bytes", po::value<std::int64_t>()->default_value(1024),
     "the covered step's plan pads every message to a multiple of this many bytes (0 = none)")
    ("bench.jitter_ms", po::value<double>()->default_value(1.0),
     "the covered step's plan holds every message for up to this, ms (the deployment's time: a hold costs "
     "no bytes; its cost is the 'deployment step' ratio)");
  add_repeats_option(options);
}

// A barrier that sleeps instead of spinning, so idle ranks leave the cores to the
// monolithic run being timed.
void quiet_barrier(MPI_Comm comm) {
  MPI_Request request;
  MPI_Ibarrier(comm, &request);
  int done = 0;
  while (!done) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (!done) usleep(200);
  }
}

// Seconds of `body` on rank 0 (others wait quietly), as seen by every rank; work
// queued on `device` is waited for inside the time.
template <class Body>
double timed(MPI_Comm comm, torch::Device device, bool everyone, Body&& body) {
  quiet_barrier(comm);
  const auto start = std::chrono::steady_clock::now();
  if (everyone || rank_of(comm) == 0) {
    body();
    comm::finish_device_work(device);
  }
  quiet_barrier(comm);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MPI_Bcast(&seconds, 1, MPI_DOUBLE, 0, comm);
  return seconds;
}

int run(const Config& config, MPI_Comm world) {
  const auto batch = config.get<std::int64_t>("bench.batch");
  const double cover_bytes = config.get<double>("bench.cover_bytes");
  streams::Plan base;
  base.pad_quantum = config.get<std::int64_t>("bench.pad_bytes");
  base.jitter = config.get<double>("bench.jitter_ms") / 1000;
  const auto arch = config.get<std::string>("model.arch");
  std::vector<std::int64_t> sizes;
  const int repeats = agree(world, [&] {
    for (const auto& text : split_list(config.get<std::string>("bench.block_sizes"), "--bench.block_sizes")) sizes.push_back(std::stoll(text));
    TESSERA_REQUIRE(!sizes.empty(), "--bench.block_sizes: give at least one size");
    TESSERA_REQUIRE(batch >= size_of(world), "--bench.batch: must be >= the number of ranks");
    TESSERA_REQUIRE(cover_bytes >= 0 && std::isfinite(cover_bytes), "--bench.cover_bytes: must be >= 0");
    TESSERA_REQUIRE(base.pad_quantum >= 0, "--bench.pad_bytes: must be >= 0, got ", base.pad_quantum);
    TESSERA_REQUIRE(base.jitter >= 0 && std::isfinite(base.jitter), "--bench.jitter_ms: must be >= 0");
    models::architecture(arch);
    return repeats_of(config);
  });
  auto report = report_for(config, world);
  const auto data = agree(world, [&] {
    return data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), batch, 1);
  });
  const auto indices = torch::arange(batch);
  const auto& arch_info = models::architecture(arch);
  const int ranks = size_of(world);
  const int threads = torch::get_num_threads();
  auto comm = make_communicator(config, world);
  const auto device = comm->device();
  agree(world, [&] {
    // mpiexec binds each rank to one core by default: the monolithic run on rank 0
    // would then share one core between all its threads and look slow.
    cpu_set_t cores;
    CPU_ZERO(&cores);
    sched_getaffinity(0, sizeof cores, &cores);
    TESSERA_REQUIRE(rank_of(world) != 0 || CPU_COUNT(&cores) >= ranks * threads, "bench service: rank 0 may run on ",
                    CPU_COUNT(&cores), " core(s), the monolithic model needs ", ranks * threads,
                    ": start it with 'mpiexec --bind-to none'");
  });

  service::TrainSettings settings;
  log::info("bench service: ", arch, " on ", comm->backend(), "/", device.str(), ", batch ", batch, ", ", ranks,
            " ranks x ", threads, " thread(s) against the monolithic model with ", ranks * threads, " threads, ",
            repeats, " repeats");
  // The monolithic reference: the plain LibTorch loop on rank 0, on the ranks' device.
  auto mono = models::build(arch, 1);
  mono->to(device);
  const auto mono_images = data.train.images.to(device), mono_labels = data.train.labels.to(device);
  auto mono_optimizer = torch::optim::SGD(mono->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  auto mono_train = [&] {
    torch::set_num_threads(ranks * threads);
    mono->train();
    mono_optimizer.zero_grad();
    torch::nn::functional::cross_entropy(mono->forward(mono_images), mono_labels).backward();
    mono_optimizer.step();
    torch::set_num_threads(threads);
  };
  auto mono_infer = [&] {
    torch::set_num_threads(ranks * threads);
    torch::NoGradGuard no_grad;
    mono->eval();
    mono->forward(mono_images);
    torch::set_num_threads(threads);
  };

  auto& table = report.table("steps", {{"blocks", "blocks", Column::kText},
                                       {"devices", "devices", 0},
                                       {"mono_train_seconds", "mono train s", 4},
                                       {"served_train_seconds", "served train s", 4},
                                       {"train_ratio", "ratio"},
                                       {"mono_infer_seconds", "mono infer s", 4},
                                       {"served_infer_seconds", "served infer s", 4},
                                       {"infer_ratio", "ratio"},
                                       {"cover_percent", "cover %", 1},
                                       {"covered_train_seconds", "covered train s", 4},
                                       {"covered_ratio", "ratio"},
                                       {"deployment_step_seconds", "deployment step s", 4},
                                       {"deployment_ratio", "with the plan"}});
  for (auto size : sizes) {
    auto options = block_settings(config);
    options.bh = options.bw = size;
    auto network = models::build(arch, 1);
    auto targets = agree(world, [&] { return blocks::plan(*network, options, comm->size()); });
    // The plan is drawn on the step's trace, before the service releases the full weights.
    const trace::LogicalDevices devices(*network, targets, {arch_info.channels, arch_info.height, arch_info.width}, 1);
    const auto traced = devices.trace(1, batch, true, trace::DeploymentModel{}, 1);
    streams::PlanCost cost;
    const auto plan = agree(world, [&] {
      try {
        streams::check_holds(traced, base);
      } catch (const Error& e) {
        throw Error(std::string("--bench.jitter_ms: ") + e.what());
      }
      return streams::random_plan(traced, cover_bytes, 1, &cost, base);
    });
    auto cover = agree(world, [&] {
      return service::CoverTraffic(plan, devices.host_rank(), comm->size(), comm->rank(), &traced.events);
    });
    service::Service served(network, targets, *comm, 1);
    auto optimizer = service::make_optimizer(served, settings);
    const auto lengths = service::batch_split(batch, *comm);
    const auto mine = data.train.images.narrow(0, service::offset_of(lengths, comm->rank()), lengths[comm->rank()]);
    auto dist_train = [&] { service::train_step(served, optimizer, data.train, indices, 0); };
    auto dist_infer = [&] {
      torch::NoGradGuard no_grad;
      served.train(false);
      served.forward(mine, {lengths});
    };
    auto covered_train = [&] {
      served.set_cover(&cover);
      service::train_step(served, optimizer, data.train, indices, 0);
      served.set_cover(nullptr);
    };
    std::int64_t device_count = 0;
    for (const auto& t : targets) device_count += t.placement.devices();
    auto on = [&](bool everyone, const std::function<void()>& body) {
      return [&world, &device, everyone, body](int) { return timed(world, device, everyone, body); };
    };
    log::Progress progress("bench service " + std::to_string(size) + "x" + std::to_string(size), repeats + 1, 5.0);
    const auto t = time_cases({{"monolithic train", on(false, mono_train)},
                               {"distributed train", on(true, dist_train)},
                               {"monolithic inference", on(false, mono_infer)},
                               {"distributed inference", on(true, dist_infer)},
                               {"covered train", on(true, covered_train)}},
                              repeats, Warmup::yes, &progress);
    const double mono_train_s = t.median(0), dist_train_s = t.median(1), mono_infer_s = t.median(2),
                 dist_infer_s = t.median(3), covered_train_s = t.median(4);
    table.add({std::to_string(size) + "x" + std::to_string(size), device_count, mono_train_s, dist_train_s,
               t.median_ratio(1, 0), mono_infer_s, dist_infer_s, t.median_ratio(3, 2),
               100 * cost.byte_fraction(), covered_train_s, t.median_ratio(4, 1), cost.seconds,
               1 + cost.time_fraction()});
  }
  std::ostringstream note;
  note << "seconds: medians over " << repeats << " repeats, the steps' order rotated each repeat; ratios: medians of "
       << "those within a repeat; cover: the plan's extra bytes (cover and padding to " << base.pad_quantum
       << " bytes) over the step's; deployment step: the traced step of the modelled deployment, and the plan's "
       << "(holds of up to " << 1000 * base.jitter << " ms) over it";
  report.note(note.str());
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace service_case

const cli::Command service_command{
    "bench service", "one served training/inference step against the monolithic model, same run",
    service_case::add_options, service_case::run};

}  // namespace tessera::bench
