#include "attack/attack_runs.hpp"

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
  return run;
}

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
        for (const auto& run : root.group(parent + "attack").children())
          runs.push_back(read_attack_run_summary(root.group(parent + "attack/" + run), path + ":/" + parent + "attack/" + run));
      }
    } catch (const std::exception& e) {
      throw Error(option + ": cannot read '" + path + "': " + e.what());
    }
    TESSERA_REQUIRE(!runs.empty(), option, ": '", path, "' has no /attack runs (not written by tessera attack)");
    return runs;
  });
}

}  // namespace tessera::attack
