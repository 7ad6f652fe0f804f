// tessera bench fitness: the adversary's fitness evaluations per second with the
// tile cache (a whole population per call) against the seed's way (assemble the
// candidate's weight, run the whole model on the eval images), at vgg-mini's
// geometry (classifier.0 in 1568 64x64 blocks, 100 eval images), with 10% and 100%
// of the blocks held, in the same run; and against the floor: the GEMMs of the
// layers after the target layer (population x eval images x 1024 x 1024 x 2 for
// vgg-mini) at the sgemm rate measured here. Prints `speedup` and `floor ratio`
// for two workloads: a fresh random population per call (no row slice recurs: the
// worst case for every cache) and swap moves as the annealing scores them (a move
// makes only the row slices it touches, and their products through the next Linear,
// anew: scoring::SwapChain). A converged GA's children are between the two.
// With --bench.device=cuda, the random populations are also scored on the GPU
// (scoring::GatherScorer) in the same repeats, against the CPU's rate and against
// the GPU's own GEMM floor.
#include <algorithm>
#include <cmath>

#include "scoring/swap_chain.hpp"
#include "bench/target.hpp"
#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "comm/device.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "data/datasets.hpp"
#include "models/model_file.hpp"
#include "blocks/targets.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace fitness_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  add_block_options(options);
  options.add_options()
    ("bench.held", po::value<std::string>()->default_value("0.1,1"), "fractions of the blocks held")
    ("bench.population", po::value<std::int64_t>()->default_value(100), "candidates per evaluation call")
    ("bench.eval_images", po::value<std::int64_t>()->default_value(100),
     "the first N test images the candidates are scored on")
    ("bench.moves", po::value<std::int64_t>()->default_value(200), "swap moves scored per repeat")
    ("bench.seed_way_candidates", po::value<std::int64_t>()->default_value(2),
     "candidates timed the seed's way per repeat")
    ("bench.cache_mb", po::value<std::int64_t>()->default_value(8192), "tile cache budget")
    ("bench.device", po::value<std::string>()->default_value("cpu"),
     "cpu, or cuda: the random populations scored on the GPU too (a CUDA build)");
  add_repeats_option(options);
}

// Medians of the per-repeat rates and ratios of one workload.
struct Rates {
  std::vector<double> rate, seed, floor, speedup, floor_ratio;
  void add(double rate_, double seed_, double floor_) {
    rate.push_back(rate_);
    seed.push_back(seed_);
    floor.push_back(floor_);
    speedup.push_back(rate_ / seed_);
    floor_ratio.push_back(floor_ / rate_);
  }
  // A row of the table "cpu".
  std::vector<Cell> row(double held, std::int64_t blocks, const char* workload, bool cached) const {
    return {held, blocks, workload, cached ? "yes" : "no", median(rate), median(seed), median(floor), median(speedup),
            median(floor_ratio)};
  }
};

int run(const Config& config, MPI_Comm world) {
  const auto population = config.get<std::int64_t>("bench.population");
  const auto images = config.get<std::int64_t>("bench.eval_images");
  int repeats = 0;
  const auto seed_candidates = config.get<std::int64_t>("bench.seed_way_candidates");
  const auto moves = config.get<std::int64_t>("bench.moves");
  std::vector<double> fractions;
  const auto device =
      agree(world, [&] { return comm::require_device("--bench.device", config.get<std::string>("bench.device")); });
  agree(world, [&] {
    fractions = held_fractions(config);
    repeats = repeats_of(config);
    TESSERA_REQUIRE(population >= 1 && images >= 1 && seed_candidates >= 1 && moves >= 1,
                    "--bench.population, --bench.eval_images, --bench.seed_way_candidates, --bench.moves: must be "
                    ">= 1");
  });
  auto report = report_for(config, world);
  auto bench = load_bench_target(config, images, world);
  auto& model = bench.model;
  const auto& target = bench.target;
  const auto& data = bench.data;
  const auto& grid = target.grid;
  const auto& blocks = bench.blocks;
  const auto N = grid.count();
  log::info("bench fitness: ", model.info.arch, " ", target.layer, " in ", N, " ", grid.bh, "x", grid.bw,
            " blocks, population ", population, ", ", images, " eval images, ", torch::get_num_threads(),
            " threads");
  std::vector<double> sgemm_rates, device_sgemm_rates;

  // The GPU's rows (its rate, the CPU's in the same repeats, and the GPU's floor:
  // the GEMMs after the target layer at its sgemm rate) come after the CPU's table.
  std::vector<std::vector<Cell>> rows, device_rows;
  for (double fraction : fractions) {
    const auto H = std::max<std::int64_t>(1, std::llround(fraction * N));
    auto rng = make_rng(config.get<std::uint64_t>("run.seed"), "bench-fitness");
    const auto order = blocks::random_genome(static_cast<std::int32_t>(N), rng);
    const auto knowledge = bench_knowledge(bench, order, H);
    scoring::Fitness fitness(knowledge, scoring::FitnessKind::loss,
                                  config.get<std::int64_t>("bench.cache_mb") << 20);
    // A fresh random population per call (the warm-up's first): no row slice recurs,
    // so nothing is kept from one call to the next -- the worst case for the cache.
    std::vector<std::vector<blocks::Genome>> populations(repeats + 1);
    for (auto& candidates : populations)
      for (std::int64_t i = 0; i < population; ++i)
        candidates.push_back(blocks::random_genome(static_cast<std::int32_t>(N), rng));
    fitness.evaluate(populations.front());  // warm-up
    std::unique_ptr<scoring::Fitness> on_device;
    if (device.is_cuda()) {
      on_device = std::make_unique<scoring::Fitness>(knowledge, scoring::FitnessKind::loss,
                                                     config.get<std::int64_t>("bench.cache_mb") << 20, device,
                                                     "--bench.cache_mb");
      on_device->evaluate(populations.front());  // warm-up: kernels, allocator
    }
    std::vector<double> device_rate, device_over_cpu, device_floor, device_floor_ratio;

    // The seed's way: the candidate's weight assembled, the whole model run.
    torch::NoGradGuard no_grad;
    auto& linear = model.network->steps()[target.step].linear;
    const auto original = linear->weight.detach().clone();
    auto seed_way = [&](const blocks::Genome& candidate) {
      auto weight = torch::zeros_like(original);
      for (std::int64_t k = 0; k < H; ++k) {
        const auto p = candidate[k];
        weight.narrow(0, grid.row_begin(grid.row_of(p)), grid.bh).narrow(1, grid.col_begin(grid.col_of(p)), grid.bw)
            .copy_(blocks[order[k]]);
      }
      linear->weight.copy_(weight);
      auto logits = model.network->forward(data.test.images);
      torch::nn::functional::cross_entropy(logits, data.test.labels).item<double>();
    };
    // Hill climbing from the repeat's first candidate: `moves` swap moves scored.
    auto climb = [&](const blocks::Genome& start) {
      scoring::SwapChain chain(fitness, start);
      for (std::int64_t m = 0; m < moves; ++m)
        if (chain.try_swap(blocks::random_swap_move(static_cast<std::int32_t>(N), static_cast<std::int32_t>(H), rng))
                .fitness[0] >= chain.evaluation().fitness[0])
          chain.accept();
    };
    // Each repeat times the four side by side (the sgemm rate, the random population,
    // the moves, the seed's way), so that a change of the machine's pace between
    // repeats shifts them all; the ratios are taken per repeat, their medians reported.
    Rates random_rates, move_rates;
    for (int r = 1; r <= repeats; ++r) {
      const double rate = comm::sgemm_rate();
      const double random_rate = population / seconds_of([&] { fitness.evaluate(populations[r]); });
      const double move_rate = moves / seconds_of([&] { climb(populations[r][0]); });
      const double seed_seconds = seconds_of([&] {
        for (std::int64_t i = 0; i < seed_candidates; ++i) seed_way(populations[r][i % population]);
      });
      const double seed_rate = seed_candidates / seed_seconds, floor_rate = rate / fitness.floor_flops();
      random_rates.add(random_rate, seed_rate, floor_rate);
      move_rates.add(move_rate, seed_rate, floor_rate);
      sgemm_rates.push_back(rate);
      if (on_device) {  // the scores come back to the host: the time includes the device's work
        const double gpu_sgemm = comm::sgemm_rate(device);
        const double gpu_rate = population / seconds_of([&] { on_device->evaluate(populations[r]); });
        const double gpu_floor = gpu_sgemm / fitness.floor_flops();
        device_rate.push_back(gpu_rate);
        device_over_cpu.push_back(gpu_rate / random_rate);
        device_floor.push_back(gpu_floor);
        device_floor_ratio.push_back(gpu_floor / gpu_rate);
        device_sgemm_rates.push_back(gpu_sgemm);
      }
    }
    if (on_device)
      device_rows.push_back({fraction, H, median(device_rate), median(random_rates.rate), median(device_over_cpu),
                             median(device_floor), median(device_floor_ratio)});
    linear->weight.copy_(original);
    rows.push_back(random_rates.row(fraction, H, "random population", fitness.cached()));
    rows.push_back(move_rates.row(fraction, H, "swap moves", fitness.cached()));
  }

  auto& cpu = report.table("cpu", {{"held", "held", 2},
                                   {"blocks", "blocks", 0},
                                   {"workload", "workload", Column::kText, 17},
                                   {"cached", "cached", Column::kText},
                                   {"evaluations_per_second", "tessera evals/s", 1},
                                   {"seed_way_per_second", "seed way evals/s", 1},
                                   {"floor_per_second", "floor evals/s", 1},
                                   {"speedup", "speedup", 1},
                                   {"floor_ratio", "floor ratio", 2}});
  for (const auto& row : rows) cpu.add(row);
  const auto [low, high] = std::minmax_element(sgemm_rates.begin(), sgemm_rates.end());
  report.note("speedup = tessera / seed way (target >= 30 at 10% held); floor ratio = floor / tessera rate (target "
              "<= 1.5; below 1 where moves make only the rows they touch anew); medians over the repeats of ratios "
              "taken within each; sgemm " + std::to_string(std::lround(*low / 1e9)) + "-" +
              std::to_string(std::lround(*high / 1e9)) + " GFLOP/s");
  if (!device_rows.empty()) {
    auto& gpu = report.table("gpu", {{"held", "held", 2},
                                     {"blocks", "blocks", 0},
                                     {"evaluations_per_second", "gpu evals/s", 1},
                                     {"cpu_per_second", "cpu evals/s", 1},
                                     {"over_cpu", "gpu/cpu", 1},
                                     {"floor_per_second", "gpu floor/s", 1},
                                     {"floor_ratio", "floor ratio", 2}});
    for (const auto& row : device_rows) gpu.add(row);
    const auto [gpu_low, gpu_high] = std::minmax_element(device_sgemm_rates.begin(), device_sgemm_rates.end());
    report.note("random populations on " + device.str() + " (scoring::GatherScorer); gpu sgemm " +
                std::to_string(std::lround(*gpu_low / 1e9)) + "-" + std::to_string(std::lround(*gpu_high / 1e9)) +
                " GFLOP/s (8192^3)");
  }
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace fitness_case

const cli::Command fitness_command{"bench fitness", "fitness evaluations/s: tile cache vs the seed's way vs the floor",
                                    fitness_case::add_options, fitness_case::run};

}  // namespace tessera::bench
