// tessera threshold: the seed's granularity-threshold formula (paper section V,
// docs/DESIGN.md section 3) with its inputs as options. Prints the smallest number of blocks
// N that makes the attack infeasible, the seed's own numeric example recomputed, and
// where that example does not follow from the formula; with --threshold.from, the
// threshold measured by attack runs at several granularities beside the formula's at
// the same search effort. The defaults are the example's inputs.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "attack/attack_runs.hpp"
#include "attack/threshold_report.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "io/output_file.hpp"

namespace tessera::cli {

namespace cmd_threshold {
namespace {

void add_options(po::options_description& options) {
  const attack::ThresholdInputs d;
  options.add_options()
    ("threshold.train_size", po::value<std::int64_t>()->default_value(d.train_size),
     "Size(Tr), training-set size (default: CIFAR-100's 50000 images; the seed does not print it)")
    ("threshold.epochs", po::value<std::int64_t>()->default_value(d.epochs),
     "Ep, training epochs (default: the seed's 100); T_tr ~ 2 T Size(Tr) Ep")
    ("threshold.population", po::value<std::int64_t>()->default_value(d.population),
     "Pop, the attacker's GA population (default: the seed's 100); E = Pop P(clue)")
    ("threshold.generations", po::value<std::int64_t>()->default_value(d.generations),
     "gen, GA generations (default: the seed's 10000); T_ak ~ gen Pop Size(Ev) T")
    ("threshold.eval_size", po::value<std::int64_t>()->default_value(d.eval_size),
     "Size(Ev), images per fitness evaluation (default: the seed's 100); precision Pr = 1/Size(Ev)")
    ("threshold.max_n", po::value<std::int64_t>()->default_value(d.max_n),
     "largest block count N searched (at most 1e15)")
    ("threshold.from", po::value<std::string>()->default_value(""),
     "attack files (comma-separated; merged files count each run): also estimate the measured threshold, "
     "the smallest block count N that none of their runs broke")
    ("threshold.recovery", real_value(0.5),
     "a run breaks its granularity when its best member has at least this fraction of the held blocks "
     "at their true positions in the last generation")
    // Every command takes the run.* options, so one job file can serve them all.
    ("run.out", po::value<std::string>()->default_value(""),
     "if set, also write the report to <run.out>/threshold.txt (default: print only)")
    ("run.seed", po::value<std::uint64_t>()->default_value(1),
     "unused here (the threshold is deterministic arithmetic)")
    ("run.threads", po::value<int>()->default_value(0), "unused here (one thread is plenty)");
}

attack::ThresholdInputs inputs_from(const Config& config) {
  attack::ThresholdInputs in;
  in.train_size = config.get<std::int64_t>("threshold.train_size");
  in.epochs = config.get<std::int64_t>("threshold.epochs");
  in.population = config.get<std::int64_t>("threshold.population");
  in.generations = config.get<std::int64_t>("threshold.generations");
  in.eval_size = config.get<std::int64_t>("threshold.eval_size");
  in.max_n = config.get<std::int64_t>("threshold.max_n");
  const auto problem = attack::invalid_input(in);
  TESSERA_REQUIRE(problem.empty(), problem);
  return in;
}

// Rank 0 writes the report as text.
void write_report(const std::string& folder, const std::vector<std::string>& lines, MPI_Comm world) {
  const auto path = (std::filesystem::path(folder) / "threshold.txt").string();
  agree(world, [&] {
    if (rank_of(world) != 0) return;
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    io::write_text_file(path, text, "--run.out");
  });
  log::info("wrote '", path, "'");
}

int run(const Config& config, MPI_Comm world) {
  const auto in = agree(world, [&] { return inputs_from(config); });
  auto lines = attack::formula_report(in, attack::solve(in));
  for (auto& line : attack::seed_report()) lines.push_back(std::move(line));
  if (const auto from = config.get<std::string>("threshold.from"); !from.empty()) {
    const auto recovery = config.get<double>("threshold.recovery");
    agree(world, [&] {
      TESSERA_REQUIRE(recovery > 0 && recovery <= 1, "--threshold.recovery: must be in (0, 1], got ", recovery);
    });
    const auto paths = agree(world, [&] {
      const auto listed = split_list(from, "--threshold.from");
      std::vector<std::string> seen;  // as the file system names them: "a.h5" and "./a.h5" are one file
      for (const auto& path : listed) {
        std::error_code error;
        auto same = std::filesystem::weakly_canonical(path, error).string();
        if (error) same = path;
        TESSERA_REQUIRE(std::find(seen.begin(), seen.end(), same) == seen.end(), "--threshold.from: '", path,
                        "' is given twice (its runs would count twice)");
        seen.push_back(same);
      }
      return listed;
    });
    std::vector<attack::AttackRun> runs;
    for (const auto& path : paths)
      for (auto& run : attack::read_attack_runs(path, "--threshold.from", world)) runs.push_back(std::move(run));
    for (auto& line : attack::measured_report(runs, recovery, in)) lines.push_back(std::move(line));
  }
  for (const auto& line : lines) log::info(line);
  if (!config.get<std::string>("run.out").empty()) write_report(output_folder(config, world), lines, world);
  return 0;
}

}  // namespace
}  // namespace cmd_threshold

const Command threshold_command{
    "threshold", "the seed's granularity threshold: smallest block count N that makes the attack infeasible",
    cmd_threshold::add_options, cmd_threshold::run};

}  // namespace tessera::cli
