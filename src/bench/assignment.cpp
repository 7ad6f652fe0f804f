// tessera bench assignment: the linear assignment solver the searches use
// (search/assignment.hpp, shortest augmenting paths after Jonker and Volgenant)
// against dlib's Hungarian method and LEMON's network simplex
// (search/assignment_alternatives.hpp), on the same matrices, in the same run: the
// attack's sizes (157 x 1568: 10% of vgg-mini's 64x64 blocks onto every position;
// 1568 x 1568: all of them), uniform costs and costs with a planted assignment.
// Prints per shape and kind the median seconds of each solver and its median ratio
// to tessera's, after checking that all three reach the same least cost.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"
#include "search/assignment.hpp"
#include "search/assignment_alternatives.hpp"
#include "search/operators.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace assignment_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  options.add_options()
    ("bench.shapes", po::value<std::string>()->default_value("157x1568,1568x1568"),
     "problems as ROWSxCOLS, comma-separated (rows <= cols)");
  add_repeats_option(options);
}

struct Solver {
  const char* name;
  std::function<std::vector<std::int32_t>(const std::vector<double>&, std::int64_t, std::int64_t)> solve;
};

// Uniform costs in [0, 1), or the same plus a planted map whose entries are 1 lower
// (the attack's cost matrices have one clearly best position for most blocks).
std::vector<double> costs(std::int64_t rows, std::int64_t cols, bool planted, Rng& rng) {
  std::vector<double> cost(rows * cols);
  for (auto& c : cost) c = uniform_unit(rng);
  if (planted) {
    const auto columns = blocks::random_genome(static_cast<std::int32_t>(cols), rng);
    for (std::int64_t r = 0; r < rows; ++r) cost[r * cols + columns[r]] -= 1.0;
  }
  return cost;
}

std::pair<std::int64_t, std::int64_t> parse_shape(const std::string& text) {
  const auto x = text.find('x');
  std::int64_t rows = -1, cols = -1;
  try {
    if (x != std::string::npos) rows = std::stoll(text.substr(0, x)), cols = std::stoll(text.substr(x + 1));
  } catch (const std::exception&) {
  }
  TESSERA_REQUIRE(rows >= 1 && cols >= rows && cols <= 20000, "--bench.shapes: '", text,
                  "' is not ROWSxCOLS with 1 <= rows <= cols <= 20000");
  return {rows, cols};
}

int run(const Config& config, MPI_Comm world) {
  int repeats = 0;
  const auto shapes = agree(world, [&] {
    TESSERA_REQUIRE(size_of(world) == 1, "bench assignment times one process; run it without mpiexec -n ",
                    size_of(world));
    repeats = repeats_of(config);
    std::vector<std::pair<std::int64_t, std::int64_t>> parsed;
    for (const auto& item : split_list(config.get<std::string>("bench.shapes"), "--bench.shapes")) parsed.push_back(parse_shape(item));
    TESSERA_REQUIRE(!parsed.empty(), "--bench.shapes: no shape given");
    return parsed;
  });
  const Solver solvers[] = {{"tessera (JV)", search::solve_assignment},
                            {"dlib (Hungarian)", search::solve_assignment_dlib},
                            {"LEMON (net. simplex)", search::solve_assignment_lemon}};
  constexpr int kSolvers = 3;
  auto rng = make_rng(config.get<std::uint64_t>("run.seed"), "bench-assignment");
  auto report = report_for(config, world);
  auto& table = report.table("solvers", {{"shape", "shape", Column::kText},
                                         {"costs", "costs", Column::kText},
                                         {"solver", "solver", Column::kText, 20},
                                         {"seconds", "seconds", 4},
                                         {"ratio_to_jv", "ratio to JV", 2}});
  log::Progress progress("bench assignment", static_cast<std::int64_t>(shapes.size()) * 2 * repeats, 5.0);
  for (const auto& [rows, cols] : shapes)
    for (const bool planted : {false, true}) {
      // Every repeat draws a new matrix, which all solvers solve; each must reach its least cost.
      std::vector<double> cost;
      int drawn_for = 0;
      double least = 0;
      std::vector<TimedCase> cases;
      for (int s = 0; s < kSolvers; ++s)
        cases.push_back({solvers[s].name, [&, s, rows = rows, cols = cols, planted = planted](int r) {
                           if (drawn_for != r) cost = costs(rows, cols, planted, rng), drawn_for = r, least = NAN;
                           std::vector<std::int32_t> column;
                           const double taken = seconds_of([&] { column = solvers[s].solve(cost, rows, cols); });
                           const double total = search::assignment_cost(cost, cols, column);
                           if (std::isnan(least)) least = total;
                           // dlib's integer costs round each to 2^-40 of the range: its optimum may
                           // differ from the exact one by that much per row.
                           TESSERA_ASSERT(std::abs(total - least) <= 1e-9 * static_cast<double>(rows),
                                          "bench assignment: ", solvers[s].name, " found cost ", total, ", ",
                                          least, " before it (", rows, "x", cols, ")");
                           return taken;
                         }});
      const auto t = time_cases(cases, repeats, Warmup::no, &progress);
      for (int s = 0; s < kSolvers; ++s)
        table.add({std::to_string(rows) + "x" + std::to_string(cols), planted ? "planted" : "uniform", solvers[s].name,
                   t.median(s), t.median_ratio(s, 0)});
    }
  report.note("medians over " + std::to_string(repeats) +
              " repeats (a new matrix each); every solver reached the same least cost");
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace assignment_case

const cli::Command assignment_command{"bench assignment",
                                       "tessera's assignment solver against dlib's and LEMON's, same matrices",
                                       assignment_case::add_options, assignment_case::run};

}  // namespace tessera::bench
