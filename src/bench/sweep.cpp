// tessera bench sweep: the seed's drop and swap grids with tessera's evaluator,
// against (a) the naive method (assemble the masked weight and run the whole
// model on the eval set for every point, as the seed did), timed on a sample of
// the same points, and (b) the floor: the GEMMs that cannot be avoided (the held
// blocks' products and the layers after the target layer) at the sgemm rate
// measured here. Prints `speedup` and `floor ratio`.
#include <chrono>
#include <functional>
#include <tuple>
#include <cstdio>

#include "bench/report.hpp"
#include "bench/timing.hpp"
#include "comm/device.hpp"
#include "bench/benchmarks.hpp"
#include "cli/options.hpp"
#include "core/ranks.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "models/model_file.hpp"
#include "sweeps/adversary.hpp"
#include "sweeps/sweep.hpp"

namespace tessera::bench {

using namespace cli;  // the shared options and output paths

namespace sweep_case {
namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "bench");
  add_block_options(options);
  options.add_options()
    ("bench.drop_rates", po::value<std::string>()->default_value("0.5:0.88:0.02,0.9:1:0.001"),
     "the drop grid (the seed's)")
    ("bench.swap_rates", po::value<std::string>()->default_value("0.85:0.99:0.01"), "the swap grid's drop rates")
    ("bench.swap_pairs", po::value<std::string>()->default_value("0:375:25"), "the swap grid's pairs")
    ("attack.repeats", po::value<std::int64_t>()->default_value(3),
     "repeats of every point, each with other compromised devices (as in the sweeps)")
    ("bench.naive_points", po::value<std::int64_t>()->default_value(6), "points of each grid timed the naive way")
    ("bench.grids", po::value<std::string>()->default_value("drop,swap"),
     "grids to run, comma-separated: drop, swap (the 'both' row needs both)");
}

// One point of a grid: which blocks are held and where they are put.
using Candidate = std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>;

int run(const Config& config, MPI_Comm world) {
  auto checkpoint = config.get<std::string>("model.checkpoint");
  const auto repeats = config.get<std::int64_t>("attack.repeats");
  const auto naive_points = config.get<std::int64_t>("bench.naive_points");
  std::vector<double> drop_rates, swap_rates, swap_pairs;
  bool run_drop = false, run_swap = false;
  agree(world, [&] {
    for (const auto& name : split_list(config.get<std::string>("bench.grids"), "--bench.grids")) {
      TESSERA_REQUIRE(name == "drop" || name == "swap", "--bench.grids: '", name, "' is neither drop nor swap");
      (name == "drop" ? run_drop : run_swap) = true;
    }
    TESSERA_REQUIRE(run_drop || run_swap, "--bench.grids: no grid given");
    TESSERA_REQUIRE(repeats >= 1, "--attack.repeats: must be >= 1");
    TESSERA_REQUIRE(naive_points >= 1, "--bench.naive_points: must be >= 1");
    drop_rates = sweeps::parse_grid(config.get<std::string>("bench.drop_rates"), "--bench.drop_rates");
    swap_rates = sweeps::parse_grid(config.get<std::string>("bench.swap_rates"), "--bench.swap_rates");
    swap_pairs = sweeps::parse_grid(config.get<std::string>("bench.swap_pairs"), "--bench.swap_pairs");
  });
  auto report = report_for(config, world);
  std::shared_ptr<models::Network> victim;
  std::string arch = config.get<std::string>("model.arch");
  if (checkpoint.empty()) {
    victim = agree(world, [&] { return models::build(arch, 1); });  // timing does not depend on the weights
  } else {
    auto loaded = models::load(checkpoint, world);
    victim = loaded.network;
    arch = loaded.info.arch;
  }
  const auto target = agree(world, [&] { return blocks::plan(*victim, block_settings(config), 1).front(); });
  const auto data = agree(world, [&] {
    return data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), 1, 0);
  });
  const auto seed = config.get<std::uint64_t>("run.seed");
  const auto& placement = target.placement;
  const auto& grid = target.grid;
  sweeps::Evaluator evaluator(*victim, target.layer, grid, data.test);
  const std::int64_t drop_points = drop_rates.size() * repeats;
  const std::int64_t swap_points = swap_rates.size() * swap_pairs.size() * repeats;
  log::info("bench sweep: ", arch, " ", target.layer, " in ", grid.count(), " blocks, ", evaluator.images(),
            " eval images; drop grid ", drop_points, " points, swap grid ", swap_points, " points, ", size_of(world),
            " rank(s) x ", torch::get_num_threads(), " thread(s)");

  // Every rank measures its own rate at the same time: the machine's rate is their sum.
  double rate = comm::sgemm_rate();
  MPI_Allreduce(MPI_IN_PLACE, &rate, 1, MPI_DOUBLE, MPI_SUM, world);

  // The points, in the sweeps' own index order.
  auto drop_point = [&](std::int64_t i) -> Candidate {
    auto held = sweeps::held_blocks(placement, drop_rates[i / repeats], seed, i % repeats);
    return {held, held};
  };
  auto swap_point = [&](std::int64_t i) -> Candidate {
    const auto s = static_cast<std::int64_t>(swap_pairs.size());
    const auto a = i / (s * repeats), b = i / repeats % s, k = i % repeats;
    auto held = sweeps::held_blocks(placement, swap_rates[a], seed, k);
    auto position = sweeps::transposed_positions(held, grid, held.size() >= 2 ? static_cast<std::int64_t>(swap_pairs[b]) : 0,
                                                 sweeps::swap_sequence_seed(seed, a, k));
    return {held, position};
  };

  struct Measured {
    double seconds = 0, floor_flops = 0, naive_seconds_per_point = 0;
  };
  auto measure = [&](std::int64_t points, const std::function<Candidate(std::int64_t)>& point,
                     const std::function<void()>& sweep) {
    Measured m;
    for (std::int64_t i = 0; i < points; ++i)
      m.floor_flops += evaluator.floor_flops(static_cast<std::int64_t>(point(i).first.size()));
    MPI_Barrier(world);
    const auto start = std::chrono::steady_clock::now();
    sweep();
    m.seconds = seconds_since(start);

    // The naive way on evenly spaced points of the same grid (one rank's time per point).
    torch::NoGradGuard no_grad;
    auto copy = models::build(arch, 1);
    copy->eval();
    torch::Tensor weight;
    for (auto& item : victim->named_parameters())
      if (item.key() == target.layer + ".weight") weight = item.value().detach();
    const auto blocks = blocks::split(weight, grid);
    double naive = 0;
    for (std::int64_t k = 0; k < naive_points; ++k) {
      const auto [held, position] = point(k * points / naive_points);
      const auto start_point = std::chrono::steady_clock::now();
      std::vector<torch::Tensor> placed;
      for (const auto& b : blocks) placed.push_back(torch::zeros_like(b));
      for (std::size_t h = 0; h < held.size(); ++h) placed[position[h]] = blocks[held[h]];
      for (auto& item : copy->named_parameters())
        item.value().copy_(item.key() == target.layer + ".weight" ? blocks::assemble(placed, grid)
                                                                   : victim->named_parameters()[item.key()]);
      for (std::int64_t begin = 0; begin < data.test.size(); begin += 1000)
        copy->forward(data.test.images.narrow(0, begin, std::min<std::int64_t>(1000, data.test.size() - begin)));
      naive += seconds_since(start_point);
    }
    m.naive_seconds_per_point = naive / naive_points;
    return m;
  };
  std::vector<std::tuple<const char*, std::int64_t, Measured>> measured;
  if (run_drop)
    measured.emplace_back("drop", drop_points, measure(drop_points, drop_point, [&] {
      sweeps::drop_sweep(world, evaluator, placement, drop_rates, repeats, seed);
    }));
  if (run_swap)
    measured.emplace_back("swap", swap_points, measure(swap_points, swap_point, [&] {
      sweeps::swap_sweep(world, evaluator, placement, grid, swap_rates, swap_pairs, repeats, seed);
    }));

  const int ranks = size_of(world);
  auto& grids = report.table("grids", {{"grid", "grid", Column::kText},
                                       {"points", "points", 0},
                                       {"seconds", "tessera s", 1},
                                       {"naive_seconds", "naive s (est)", 1},
                                       {"floor_seconds", "floor s", 1},
                                       {"speedup", "speedup", 1},
                                       {"floor_ratio", "floor ratio", 2}});
  double seconds = 0, naive = 0, floor = 0;
  std::int64_t all_points = 0;
  for (const auto& [name, points, m] : measured) {
    const double naive_total = m.naive_seconds_per_point * points / ranks;
    grids.add({name, points, m.seconds, naive_total, m.floor_flops / rate, naive_total / m.seconds,
               m.seconds / (m.floor_flops / rate)});
    seconds += m.seconds;
    naive += naive_total;
    floor += m.floor_flops / rate;
    all_points += points;
  }
  if (measured.size() > 1) grids.add({"both", all_points, seconds, naive, floor, naive / seconds, seconds / floor});
  char line[160];
  std::snprintf(line, sizeof line, "speedup = naive / tessera, floor ratio = tessera / floor; sgemm rate (all ranks) "
                "%.1f GFLOP/s", rate / 1e9);
  report.note(line);
  log::info("wrote '", report.finish(), "'");
  return 0;
}

}  // namespace
}  // namespace sweep_case

const cli::Command sweep_command{"bench sweep",
                                  "drop and swap grids: tessera's evaluator against the naive way and the floor",
                                  sweep_case::add_options, sweep_case::run};

}  // namespace tessera::bench
