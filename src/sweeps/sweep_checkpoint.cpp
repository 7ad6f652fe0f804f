#include "sweeps/sweep_checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/config.hpp"
#include "core/error.hpp"
#include "io/output_file.hpp"

namespace tessera::sweeps {

std::int64_t SweepState::done_units() const { return std::count(done.begin(), done.end(), std::uint8_t{1}); }

void write_sweep_checkpoint(const Checkpointing& checkpointing, const std::string& label, const SweepState& state) {
  io::OutputFile file(checkpointing.path, MPI_COMM_SELF, {"sweep checkpoint", checkpointing.fingerprint, 0});
  auto g = file.root().require_group("checkpoint");
  g.set_attr("sweep", label);
  g.set_attr("fingerprint", checkpointing.fingerprint);
  g.set_attr("units", static_cast<std::int64_t>(state.done.size()));
  g.set_attr("points", static_cast<std::int64_t>(state.values.size() / 4));
  g.create_dataset<std::uint8_t>("done", {state.done.size()}).write(state.done.data());
  g.create_dataset<double>("values", {state.values.size() / 4, 4}).write(state.values.data());
  file.commit();
}

namespace {

// Every number a point can hold: accuracy, fidelity and held fraction are fractions,
// the loss is a mean cross-entropy; unfinished points are zero.
bool plausible(const std::vector<double>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v) || v < 0) return false;
    if (i % 4 != 1 && v > 1) return false;
  }
  return true;
}

}  // namespace

void load_checkpoint(Checkpointing& checkpointing, const std::string& label, MPI_Comm comm) {
  const auto& path = checkpointing.path;
  const bool exists = agree(comm, [&] { return !path.empty() && std::filesystem::exists(path); });
  if (exists && !checkpointing.resume)
    agree_on_message(comm, "'" + path + "' holds the finished points of a stopped " + label +
                               " sweep: continue it with --run.resume=true, or remove the file to start again");
  if (!exists) return;
  checkpointing.restored = agree(comm, [&] {
    auto state = std::make_shared<SweepState>();
    std::string fingerprint;
    std::int64_t units = -1, points = -1;
    try {
      auto file = h5::File::open(path, comm);
      auto root = file.root();
      TESSERA_REQUIRE(root.exists("checkpoint"), "no /checkpoint group");
      auto g = root.group("checkpoint");
      fingerprint = g.attr_string("fingerprint");
      units = g.attr_int("units");
      points = g.attr_int("points");
      state->done = g.dataset("done").read<std::uint8_t>();
      state->values = g.dataset("values").read<double>();
    } catch (const std::exception& e) {
      throw Error("--run.resume: cannot continue from '" + path + "': " + e.what());
    }
    TESSERA_REQUIRE(fingerprint == checkpointing.fingerprint, "--run.resume: '", path,
                    "' was written with other settings: ", first_difference(checkpointing.fingerprint, fingerprint));
    TESSERA_REQUIRE(static_cast<std::int64_t>(state->done.size()) == units &&
                        static_cast<std::int64_t>(state->values.size()) == 4 * points,
                    "--run.resume: '", path, "' is not a complete checkpoint (its sizes disagree)");
    TESSERA_REQUIRE(std::all_of(state->done.begin(), state->done.end(), [](std::uint8_t d) { return d <= 1; }) &&
                        plausible(state->values),
                    "--run.resume: '", path, "' holds values no sweep writes (altered or damaged)");
    return std::shared_ptr<const SweepState>(std::move(state));
  });
}

}  // namespace tessera::sweeps
