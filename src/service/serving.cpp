#include "service/serving.hpp"

#include <sys/resource.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "io/output_file.hpp"
#include "service/cover_traffic.hpp"
#include "streams/plan_file.hpp"
#include "trace/fingerprint.hpp"
#include "trace/writer.hpp"

namespace tessera::service {

namespace {

// An obfuscation plan read and checked against this deployment, and the cover
// traffic that sends it between the ranks.
struct Obfuscation {
  streams::PlanFile file;
  std::unique_ptr<CoverTraffic> cover;
};

streams::PlanFile read_checked_plan(const std::string& path, const trace::LogicalDevices& devices, MPI_Comm world) {
  return agree(world, [&] {
    TESSERA_REQUIRE(std::filesystem::is_regular_file(path), "--serve.obfuscation: '", path, "' is not a file");
    streams::PlanFile read;
    try {
      read = streams::read_plan(path, world);
    } catch (const Error& e) {
      throw Error(std::string("--serve.obfuscation: ") + e.what());
    }
    TESSERA_REQUIRE(read.devices == devices.count(), "--serve.obfuscation: '", path, "' was planned on a trace of ",
                    read.devices, " devices, this service has ", devices.count(),
                    " (plan on a trace of this model with the same --blocks options and run.seed)");
    // The same count is not the same devices: another seed or placement gives other
    // ids, and a plan applied to them would hide nothing.
    TESSERA_REQUIRE(!read.deployment.empty(), "--serve.obfuscation: '", path, "' was planned on a trace that "
                    "names no deployment (no /trace/truth): plan on a trace of this service");
    TESSERA_REQUIRE(read.deployment == trace::deployment_fingerprint(devices.layout()), "--serve.obfuscation: '",
                    path, "' was planned for another deployment (other device ids: another run.seed, "
                    "--blocks option or model); plan on a trace of this service");
    return read;
  });
}

std::optional<Obfuscation> read_obfuscation(const ServeSettings& settings, const trace::LogicalDevices& devices,
                                            const comm::Communicator& comm, MPI_Comm world) {
  if (settings.obfuscation.empty()) return std::nullopt;
  Obfuscation out;
  out.file = read_checked_plan(settings.obfuscation, devices, world);
  // One step of the plain deployment: the padding the plan sends, and the step its
  // holds must not exceed.
  const auto one_step =
      devices.trace(1, settings.batch, settings.mode == "train", settings.deployment, settings.train.seed);
  agree(world, [&] {
    try {
      streams::check_holds(one_step, out.file.plan);
    } catch (const Error& e) {
      throw Error("--serve.obfuscation: '" + settings.obfuscation + "': " + e.what());
    }
  });
  out.cover = agree(world, [&] {
    return std::make_unique<CoverTraffic>(out.file.plan, devices.host_rank(), comm.size(), comm.rank(),
                                          &one_step.events);
  });
  return out;
}

double max_weight_difference(const std::map<std::string, torch::Tensor>& a,
                             const std::map<std::string, torch::Tensor>& b) {
  double worst = 0;
  for (const auto& [name, tensor] : a) worst = std::max(worst, (tensor - b.at(name)).abs().max().item<double>());
  return worst;
}

void run_inference(const ServeSettings& settings, Service& served, models::Network& reference,
                   const data::Dataset& data, const h5::Group& group) {
  auto report = infer(served, settings.check ? &reference : nullptr, data.test, settings.batch);
  log::info("served test accuracy ", report.accuracy, " on ", report.images, " images (monolithic ",
            report.reference_accuracy, "), max |logit difference| ", report.max_logit_diff, " (logits up to ",
            report.max_logit, "), ", log::seconds_text(report.seconds));
  group.set_attr("accuracy", report.accuracy);
  group.set_attr("reference_accuracy", report.reference_accuracy);
  group.set_attr("max_logit_diff", report.max_logit_diff);
  group.set_attr("max_logit", report.max_logit);
  group.set_attr("images", report.images);
  group.set_attr("seconds", report.seconds);
}

void run_training(const ServeSettings& settings, Service& served, std::shared_ptr<models::Network> reference,
                  const data::Dataset& data, const h5::Group& group) {
  const auto losses = train_steps(served, data.train, settings.train);
  group.create_dataset<double>("loss", {losses.size()}).write(losses.data());
  if (!settings.check) return;
  // The same steps on one process with the full weights (and the same dropout masks).
  auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
  Service monolithic(std::move(reference), {}, *self, settings.train.seed);
  const auto expected = train_steps(monolithic, data.train, settings.train, false);
  const double difference = max_weight_difference(served.assembled_parameters(), monolithic.assembled_parameters());
  log::info(settings.train.steps, " training steps: final loss ", losses.back(), " (monolithic ", expected.back(),
            "), max |weight difference| ", difference);
  group.set_attr("max_weight_diff", difference);
  group.set_attr("reference_final_loss", expected.back());
}

// /trace: what an eavesdropper sees of the service, with the plan's cover traffic,
// padding and holds when there is one, and what they cost in the deployment's time.
void write_served_trace(const ServeSettings& settings, const trace::LogicalDevices& devices,
                        const std::optional<Obfuscation>& obfuscation, const h5::Group& root, const h5::Group& group,
                        MPI_Comm world) {
  auto trace = devices.trace(settings.trace_steps, settings.batch, settings.mode == "train", settings.deployment,
                             settings.train.seed);
  if (obfuscation) {
    streams::PlanCost cost;
    trace = agree(world, [&] {
      return streams::obfuscate_trace(trace, obfuscation->file.plan, settings.train.seed, &cost);
    });
    group.set_attr("obfuscation", settings.obfuscation);
    group.set_attr("obfuscation_byte_fraction", cost.byte_fraction());
    group.set_attr("obfuscation_time_fraction", cost.time_fraction());
    log::info("serve: the obfuscated trace: +", 100 * cost.byte_fraction(), "% bytes, +", 100 * cost.message_fraction(),
              "% messages, the traced steps end ", 100 * cost.time_fraction(), "% later (", cost.extra_seconds,
              " s of the deployment's ", cost.seconds, " s)");
  }
  trace::write_trace(trace, root);
}

// The peak resident memory of the largest rank (collective).
double peak_rss_mib(MPI_Comm world) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double peak = usage.ru_maxrss / 1024.0;
  MPI_Allreduce(MPI_IN_PLACE, &peak, 1, MPI_DOUBLE, MPI_MAX, world);
  return peak;
}

}  // namespace

void serve(const ServeSettings& settings, ServeInputs& inputs, MPI_Comm world) {
  auto& comm = *inputs.comm;
  const auto& model = inputs.model;
  const auto& arch = models::architecture(model.info.arch);
  const auto seed = settings.train.seed;
  const trace::LogicalDevices devices(*model.network, inputs.targets, {arch.channels, arch.height, arch.width}, seed);
  const auto obfuscation = read_obfuscation(settings, devices, comm, world);
  const auto data = inputs.data();
  std::int64_t device_count = 0;
  for (const auto& t : inputs.targets) device_count += t.placement.devices();
  log::info("serving ", model.info.arch, " on ", comm.size(), " ranks (", comm.backend(), ", ", comm.device().str(),
            "): ", device_count, " devices hold the blocks of ", inputs.targets.size(), " layer(s), ", devices.count(),
            " devices in all");

  auto reference = clone(*model.network, model.info.arch);
  Service served(model.network, inputs.targets, comm, seed);
  if (obfuscation) {
    served.set_cover(obfuscation->cover.get());
    log::info("serve: obfuscation plan '", settings.obfuscation, "': ", obfuscation->file.plan.moves.size(),
              " moves, rank 0 sends ", obfuscation->cover->bytes_sent(0), " cover bytes forward and ",
              obfuscation->cover->bytes_sent(1), " backward per pass");
  }

  io::OutputFile file(inputs.path, world, {"serve", inputs.config_text, seed, comm.size()});
  auto group = file.root().require_group("serve");
  group.set_attr("mode", settings.mode);
  group.set_attr("backend", comm.backend());
  group.set_attr("device", comm.device().str());
  group.set_attr("devices", devices.count());
  if (settings.mode == "infer")
    run_inference(settings, served, *reference, data, group);
  else
    run_training(settings, served, reference, data, group);
  blocks::write_targets(inputs.targets, file.root());
  write_served_trace(settings, devices, obfuscation, file.root(), group, world);
  const double peak_mib = peak_rss_mib(world);  // after everything, the trace included, was built
  group.set_attr("peak_rss_mib_max_rank", peak_mib);
  log::info("peak memory of the largest rank: ", peak_mib, " MiB");
  file.commit();
  log::info("wrote '", file.path(), "'");
}

}  // namespace tessera::service
