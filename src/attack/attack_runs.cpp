#include "attack/attack_runs.hpp"

#include <cmath>

#include "core/ranks.hpp"
#include "core/error.hpp"
#include "io/h5.hpp"

namespace tessera::attack {

AttackRun read_attack_run_summary(const h5::Group& g, const std::string& name) {
  AttackRun run;
  run.name = name;
  run.blocks = g.attr_int("blocks");
  run.bh = g.attr_int("bh");
  run.bw = g.attr_int("bw");
  run.held = g.attr_int("held");
  run.eval_images = g.attr_int("eval_images");
  run.method = g.attr_string("method");
  if (g.has_attr("evaluations")) run.evaluations = g.attr_int("evaluations");
  const auto recovery = g.dataset("position_recovery").read<double>();
  const auto accuracy = g.dataset("best_accuracy").read<double>();
  TESSERA_REQUIRE(!recovery.empty() && recovery.size() == accuracy.size(), "no generations");
  run.generations = static_cast<std::int64_t>(recovery.size()) - 1;
  run.population = static_cast<std::int64_t>(g.dataset("fitness").shape().at(1));
  run.recovery = recovery.back();
  run.best_accuracy = accuracy.back();
  if (g.has_attr("seconds")) run.seconds = g.attr_double("seconds");
  if (g.has_attr("drop_rate")) run.drop_rate = g.attr_double("drop_rate");
  // What a threshold is read from: a NaN recovery would count as "not broken", a
  // negative block count would be reported as a granularity.
  TESSERA_REQUIRE(run.blocks >= 1 && run.bh >= 1 && run.bw >= 1, "blocks ", run.blocks, " of ", run.bh, "x", run.bw,
                  " (each must be >= 1)");
  TESSERA_REQUIRE(run.held >= 0 && run.held <= run.blocks, "held ", run.held, " of ", run.blocks, " blocks");
  TESSERA_REQUIRE(std::isfinite(run.recovery) && run.recovery >= 0 && run.recovery <= 1,
                  "position recovery ", run.recovery, " in the last generation (not in [0, 1])");
  TESSERA_REQUIRE(std::isfinite(run.best_accuracy), "best accuracy ", run.best_accuracy, " in the last generation");
  return run;
}

namespace {
// A run's block size against the cut layer of its file (/blocks: out x in in rows x
// cols blocks): a block size that does not tile the layer into the run's count is a
// damaged or mixed-up file.
void check_against_layer(const h5::Group& root, const std::string& parent, const h5::Group& run_group,
                         const AttackRun& run) {
  if (!root.exists(parent + "blocks")) return;
  const auto layer = root.group(parent + "blocks");
  if (!layer.has_attr("out") || !layer.has_attr("in") || !layer.has_attr("layer") || !run_group.has_attr("layer") ||
      layer.attr_string("layer") != run_group.attr_string("layer"))
    return;
  const auto out = layer.attr_int("out"), in = layer.attr_int("in");
  TESSERA_REQUIRE(out % run.bh == 0 && in % run.bw == 0 && (out / run.bh) * (in / run.bw) == run.blocks, "blocks ",
                  run.blocks, " of ", run.bh, "x", run.bw, " do not tile its layer ", layer.attr_string("layer"), " (",
                  out, " x ", in, ")");
}
}  // namespace

std::vector<AttackRun> read_attack_runs(const std::string& path, const std::string& option, MPI_Comm comm) {
  return agree(comm, [&] {
    std::vector<AttackRun> runs;
    try {
      auto file = h5::File::open(path, comm);
      auto root = file.root();
      // A merged file holds each input file under /runs/<name>.
      std::vector<std::string> parents;
      if (root.has_attr("command") && root.attr_string("command") == "merge")
        for (const auto& name : root.group("runs").children()) parents.push_back("runs/" + name + "/");
      else
        parents.push_back("");
      for (const auto& parent : parents) {
        if (!root.exists(parent + "attack")) continue;
        for (const auto& run : root.group(parent + "attack").children()) {
          const auto name = path + ":/" + parent + "attack/" + run;
          const auto group = root.group(parent + "attack/" + run);
          try {
            runs.push_back(read_attack_run_summary(group, name));
            check_against_layer(root, parent, group, runs.back());
          } catch (const std::exception& e) {
            throw Error("run '" + name + "': " + e.what());
          }
        }
      }
    } catch (const std::exception& e) {
      throw Error(option + ": cannot read '" + path + "': " + e.what());
    }
    TESSERA_REQUIRE(!runs.empty(), option, ": '", path, "' has no /attack runs (not written by tessera attack)");
    return runs;
  });
}

}  // namespace tessera::attack
