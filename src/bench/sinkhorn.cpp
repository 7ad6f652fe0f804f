// tessera bench sinkhorn: one step of Gumbel-Sinkhorn placement learning (noise, the
// log-space Sinkhorn, the soft weight, the adversary's loss forward and backward,
// Adam, and the rounding of the logits by a linear assignment, scored) against one
// population evaluation of the fitness engine, in the same run, at vgg-mini's
// geometry with every block held (1568 64x64 blocks, 100 eval images). Prints the
// medians of the per-repeat times and of their ratio (target: a step <= 5 population
// evaluations).
#include "search/methods.hpp"
#include "bench/target.hpp"
#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace sinkhorn_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  add_block_options(options);
  options.add_options()
    ("bench.held", po::value<std::string>()->default_value("1"), "fractions of the blocks held, comma-separated")
    ("bench.population", po::value<std::int64_t>()->default_value(100), "candidates per population evaluation")
    ("bench.eval_images", po::value<std::int64_t>()->default_value(100),
     "the first N test images the candidates are scored on")
    ("bench.cache_mb", po::value<std::int64_t>()->default_value(8192), "tile cache budget");
  add_repeats_option(options);
  search::sinkhorn_method.add_options(options);
}

int run(const Config& config, MPI_Comm world) {
  std::vector<double> fractions;
  const auto population = config.get<std::int64_t>("bench.population");
  const auto images = config.get<std::int64_t>("bench.eval_images");
  int repeats = 0;
  const auto methods = agree(world, [&] {
    fractions = held_fractions(config);
    repeats = repeats_of(config);
    TESSERA_REQUIRE(population >= 1 && images >= 1, "--bench.population, --bench.eval_images: must be >= 1");
    search::MethodSettings methods;
    search::sinkhorn_method.read(config, methods);
    search::sinkhorn_method.check(methods);
    return methods;
  });
  auto report = report_for(config, world);
  const auto bench = load_bench_target(config, images, world);
  const auto N = bench.target.grid.count();
  auto& table = report.table("sinkhorn", {{"held", "held", 2},
                                          {"blocks", "blocks", 0},
                                          {"cached", "cached", Column::kText},
                                          {"step_seconds", "sinkhorn step (s)"},
                                          {"evaluation_seconds", "population evaluation (s)"},
                                          {"ratio", "ratio", 2}});
  for (const double fraction : fractions) {
    const auto H = std::max<std::int64_t>(1, std::llround(fraction * N));
    auto rng = make_rng(config.get<std::uint64_t>("run.seed"), "bench-sinkhorn");
    const auto order = blocks::random_genome(static_cast<std::int32_t>(N), rng);
    scoring::Fitness fitness(bench_knowledge(bench, order, H), scoring::FitnessKind::loss,
                             config.get<std::int64_t>("bench.cache_mb") << 20);
    log::info("bench sinkhorn: ", bench.model.info.arch, " ", bench.target.layer, ", ", H, " of ", N, " ",
              bench.target.grid.bh, "x", bench.target.grid.bw, " blocks held, ", images,
              " eval images, population ", population, ", ", torch::get_num_threads(), " threads");
    auto search = search::sinkhorn_method.make(fitness, methods, config.get<std::uint64_t>("run.seed"), MPI_COMM_SELF);
    std::vector<std::vector<blocks::Genome>> populations(repeats + 1);
    for (auto& candidates : populations)
      for (std::int64_t i = 0; i < population; ++i)
        candidates.push_back(blocks::random_genome(static_cast<std::int32_t>(N), rng));
    search->start();  // theta from the gradient at the empty placement (not timed)
    // Repeat r evaluates the r-th population and takes step r + 1 (the warm-up: step 1).
    const auto t = time_cases(
        {{"step", [&](int r) { return seconds_of([&] { search->advance(r + 1, repeats + 2); }); }},
         {"evaluation", [&](int r) { return seconds_of([&] { fitness.evaluate(populations[r]); }); }}},
        repeats, Warmup::yes);
    table.add({fraction, H, fitness.cached() ? "yes" : "no", t.median(0), t.median(1), t.median_ratio(0, 1)});
  }
  report.note("ratio = one Sinkhorn step / one evaluation of " + std::to_string(population) +
              " candidates (target <= 5); medians over " + std::to_string(repeats) +
              " repeats of ratios taken within each; cached: whether the tile cache fit its budget");
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace sinkhorn_case

const cli::Command sinkhorn_command{"bench sinkhorn",
                                     "one Gumbel-Sinkhorn step against one population evaluation of the fitness engine",
                                     sinkhorn_case::add_options, sinkhorn_case::run};

}  // namespace tessera::bench
