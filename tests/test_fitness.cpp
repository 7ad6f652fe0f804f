// The adversary's fitness: cached tiles, chunked tiles and kept row slices give the
// same numbers bit for bit, and those numbers are the full model's with the
// candidate weight (held blocks at the genome's positions, zeros elsewhere); swap
// moves scored by row products agree with them to round-off.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "scoring/column_products.hpp"
#include "scoring/gather_scorer.hpp"
#include "scoring/swap_chain.hpp"
#include "search/operators.hpp"
#include "blocks/grid.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/datasets.hpp"

using namespace tessera;

namespace {

constexpr std::int64_t kImages = 64, kHeld = 150;
constexpr std::int64_t kFiveColumnsOfTiles = kHeld * kImages * 16 * 4 * 5;  // 5 columns of tiles: a budget that chunks

struct Victim {
  std::shared_ptr<models::Network> network;
  models::TargetLayer layer;
  blocks::Grid grid = blocks::Grid::make(128, 784, 16, 16, "layers.0.weight");  // 8 x 49 positions
  std::vector<torch::Tensor> blocks;
  data::Split test;
  std::vector<std::int64_t> order;  // order[k]: the true position of held block k

  Victim() {
    network = models::build("mlp-mixnn", 3);
    layer = models::split_at(*network, "layers.0");
    blocks = blocks::split(layer.weight, grid);
    test = data::load("fashion-mnist", "", 1, kImages).test;
    auto rng = make_rng(5, "test-fitness");
    for (auto p : blocks::random_genome(static_cast<std::int32_t>(grid.count()), rng)) order.push_back(p);
  }

  scoring::Fitness fitness(std::int64_t cache_bytes, std::int64_t holds = kHeld) const {
    std::vector<torch::Tensor> held;
    for (std::int64_t k = 0; k < holds; ++k) held.push_back(blocks[order[k]]);
    auto known = layer;
    known.weight = torch::Tensor();
    scoring::Knowledge knowledge{grid, known, layer.features(test.images), test.labels, test.labels,
                                torch::stack(held), {}, {}, {}, {}, {}, {}};
    return scoring::Fitness(std::move(knowledge), scoring::FitnessKind::loss, cache_bytes);
  }

  // The loss of the full model with the candidate weight, computed independently.
  double loss_of(const blocks::Genome& genome, std::int64_t holds = kHeld) const {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> placed;
    for (const auto& b : blocks) placed.push_back(torch::zeros_like(b));
    for (std::int64_t k = 0; k < holds; ++k) placed[genome[k]] = blocks[order[k]];
    auto pre = torch::addmm(layer.bias, layer.features(test.images), blocks::assemble(placed, grid).t());
    return torch::nn::functional::cross_entropy(layer.after_layer(pre), test.labels).item<double>();
  }
};

std::vector<blocks::Genome> random_population(std::int64_t size, std::int32_t positions, std::uint64_t seed) {
  auto rng = make_rng(seed, "test-population");
  std::vector<blocks::Genome> population;
  for (std::int64_t i = 0; i < size; ++i) population.push_back(blocks::random_genome(positions, rng));
  return population;
}

// Two routes to the same scores whose GEMMs have other shapes (the tiles of all
// columns at once or of a few; the layers after on the whole population or on
// chunks of it) or run on other thread counts: OpenBLAS picks its kernels and splits
// by shape and threads, and the kernels differ by CPU, so their float round-off may
// differ (it does with AVX-512). Exact equality holds only on one route; across
// routes the scores (mean cross-entropies near 2.3) agree far below any difference
// a search acts on.
void expect_same_scores(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << what << ", candidate " << i;
}

}  // namespace

TEST(Fitness, EqualsTheFullModelWithTheCandidateWeight) {
  Victim s;
  auto fitness = s.fitness(1 << 30);
  ASSERT_TRUE(fitness.cached());
  auto population = random_population(6, static_cast<std::int32_t>(s.grid.count()), 1);
  population.push_back(blocks::Genome(s.order.begin(), s.order.end()));  // the true positions
  const auto evaluation = fitness.evaluate(population);
  for (std::size_t i = 0; i < population.size(); ++i)
    EXPECT_NEAR(evaluation.fitness[i], -s.loss_of(population[i]), 1e-4) << "candidate " << i;
}

// A row slice is the row's bias plus its blocks' tiles: rows that hold the same
// (column, block) pairs, or none at all, still differ by their bias. Few held blocks
// (most rows empty) and a candidate whose blocks sit one row lower than another's
// give rows with equal pairs, in one call and across calls.
TEST(Fitness, RowsWithTheSamePairsKeepTheirOwnBias) {
  Victim s;
  constexpr std::int64_t kFew = 6;
  auto fitness = s.fitness(1 << 30, kFew);
  ASSERT_TRUE(fitness.cached());
  const auto N = static_cast<std::int32_t>(s.grid.count()), C = static_cast<std::int32_t>(s.grid.cols);
  auto rng = make_rng(4, "test-rows");
  const auto a = blocks::random_genome(N, rng);
  auto lower = a;  // the held blocks one row lower (wrapping), the other positions after them
  std::vector<char> taken(N, 0);
  for (std::int64_t k = 0; k < kFew; ++k) taken[lower[k] = (a[k] + C) % N] = 1;
  for (std::int32_t p = 0, next = kFew; p < N; ++p)
    if (!taken[p]) lower[next++] = p;
  ASSERT_TRUE(blocks::is_valid_permutation(lower));
  const auto together = fitness.evaluate({a, lower});
  const auto after = fitness.evaluate({lower, a});  // every slice was in the call before
  for (const auto& [genome, score] : {std::pair{a, together.fitness[0]}, std::pair{lower, together.fitness[1]},
                                      std::pair{lower, after.fitness[0]}, std::pair{a, after.fitness[1]}})
    EXPECT_NEAR(score, -s.loss_of(genome, kFew), 2e-6);  // float round-off; a wrong bias: 4e-5 and more
}

TEST(Fitness, CachedChunkedAndKeptSlicesAgree) {
  Victim s;
  auto cached = s.fitness(1 << 30);
  auto chunked = s.fitness(kFiveColumnsOfTiles);
  ASSERT_TRUE(cached.cached());
  ASSERT_FALSE(chunked.cached());
  const auto positions = static_cast<std::int32_t>(s.grid.count());
  auto parents = random_population(8, positions, 2);
  // Children as a GA makes them: copies and swaps of the parents, so most of their
  // row slices were in the last call; 40 of them, more than one chunk of the layers after.
  auto rng = make_rng(9, "test-children");
  std::vector<blocks::Genome> children;
  for (std::size_t i = 0; i < 40; ++i) {
    auto child = parents[i % parents.size()];
    if (i % 3) search::swap_mutation(child, kHeld, rng);
    children.push_back(child);
  }
  expect_same_scores(cached.evaluate(parents).fitness, chunked.evaluate(parents).fitness, "parents, cached vs chunked");
  const auto summed_before = cached.row_slices()->summed();
  const auto kept = cached.evaluate(children);
  expect_same_scores(kept.fitness, chunked.evaluate(children).fitness, "children, kept slices vs chunked");
  // The same route with nothing kept: the same GEMMs, so the same bits (what makes a
  // resumed search, whose kept slices start empty, equal an uninterrupted one).
  EXPECT_EQ(kept.fitness, s.fitness(1 << 30).evaluate(children).fitness);
  // A swap touches at most two of a child's 8 rows; the rest were kept.
  ASSERT_GT(40 * kImages, scoring::Fitness::kChunkRows);
  EXPECT_LE(cached.row_slices()->summed() - summed_before, 2 * 40);
  EXPECT_GE(cached.row_slices()->reused(), 40 * 8 - 2 * 40);
}

// LibTorch's at::parallel_for is a header template over `#pragma omp parallel`: it
// spreads our loops over threads only when the build compiles them with OpenMP. Our
// loops sum in a fixed order whatever the thread count; OpenBLAS splits its GEMMs by
// thread count, so the scores agree to round-off (expect_same_scores).
TEST(Fitness, SpreadsOverThreadsWithTheSameNumbers) {
  const int threads = torch::get_num_threads();
  torch::set_num_threads(2);
  std::vector<int> thread_of(2, -1);
  at::parallel_for(0, 2, 1, [&](std::int64_t begin, std::int64_t end) {
    for (auto i = begin; i < end; ++i) thread_of[i] = at::get_thread_num();
  });
  EXPECT_NE(thread_of[0], thread_of[1]);

  Victim s;
  const auto population = random_population(40, static_cast<std::int32_t>(s.grid.count()), 3);
  auto two = s.fitness(1 << 30).evaluate(population).fitness;
  auto two_uncached = s.fitness(kFiveColumnsOfTiles).evaluate(population).fitness;
  auto rng = make_rng(8, "test-threads");
  const auto start = blocks::random_genome(static_cast<std::int32_t>(s.grid.count()), rng);
  auto chain_from_scratch = [&] {
    auto fitness = s.fitness(1 << 30);
    return scoring::SwapChain(fitness, start).evaluation().fitness;
  };
  const auto two_chain = chain_from_scratch();
  torch::set_num_threads(1);
  expect_same_scores(two, s.fitness(1 << 30).evaluate(population).fitness, "cached, 2 vs 1 threads");
  expect_same_scores(two_uncached, s.fitness(kFiveColumnsOfTiles).evaluate(population).fitness,
                     "chunked, 2 vs 1 threads");
  expect_same_scores(two_chain, chain_from_scratch(), "chain, 2 vs 1 threads");
  // On one thread count, one route: the same bits every time.
  EXPECT_EQ(s.fitness(1 << 30).evaluate(population).fitness, s.fitness(1 << 30).evaluate(population).fitness);
  torch::set_num_threads(threads);
}

TEST(Fitness, ChainMovesScoreAsTheGenomeFromScratch) {
  Victim s;
  auto fitness = s.fitness(1 << 30);
  ASSERT_NE(fitness.row_products(), nullptr);
  auto rng = make_rng(6, "test-chain");
  scoring::SwapChain chain(fitness, blocks::random_genome(static_cast<std::int32_t>(s.grid.count()), rng));
  int accepted = 0;
  for (int step = 0; step < 60; ++step) {
    const auto move = blocks::random_swap_move(static_cast<std::int32_t>(s.grid.count()), kHeld, rng);
    const auto tried = chain.try_swap(move).fitness[0];
    auto moved = chain.genome();
    blocks::apply_swap(moved, move);
    // Only the touched rows were made anew, and the numbers are those of a chain
    // started from the moved genome, to round-off.
    EXPECT_NEAR(tried, scoring::SwapChain(fitness, moved).evaluation().fitness[0], 1e-5) << "move " << step;
    if (tried >= chain.evaluation().fitness[0]) {
      chain.accept();
      ++accepted;
      EXPECT_EQ(chain.genome(), moved);
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_NEAR(chain.evaluation().fitness[0], -s.loss_of(chain.genome()), 1e-4);
  EXPECT_NEAR(chain.evaluation().fitness[0], fitness.evaluate({chain.genome()}).fitness[0], 1e-5);
}

TEST(Fitness, SwapMovesUpdateThePreActivation) {
  Victim s;
  auto fitness = s.fitness(1 << 30);
  auto rng = make_rng(4, "test-swaps");
  auto genome = blocks::random_genome(static_cast<std::int32_t>(s.grid.count()), rng);
  auto pre = fitness.pre_activation(genome);
  for (int step = 0; step < 50; ++step) {
    const auto move = blocks::random_swap_move(static_cast<std::int32_t>(s.grid.count()), kHeld, rng);
    fitness.apply_swap(pre, genome, move);
    blocks::apply_swap(genome, move);
  }
  EXPECT_TRUE(torch::allclose(pre, fitness.pre_activation(genome), 1e-4, 1e-4));
  EXPECT_NEAR(fitness.score(pre, 1).fitness[0], -s.loss_of(genome), 1e-4);
}

// The products both the sweeps and the tile cache read: every registered block times
// its column's features, image-major, at the offsets given, on a grid with a ragged
// last row and column; a matrix registered in several columns is shared, and a
// column's products have the same bits whatever else is registered.
TEST(ColumnProducts, EveryRegisteredBlockTimesItsColumnsFeatures) {
  torch::manual_seed(3);
  const auto grid = blocks::Grid::make(10, 13, 4, 5, "test");  // rows 4+4+2, columns 5+5+3
  const auto x = torch::randn({7, 13});
  const auto shared = torch::randn({6, 5}), narrow_a = torch::randn({4, 3}), narrow_b = torch::randn({2, 3});
  scoring::ColumnProducts products(grid);
  const auto in_0 = products.add(0, shared);
  const auto a = products.add(2, narrow_a);
  const auto in_1 = products.add(1, shared);
  const auto b = products.add(2, narrow_b);
  products.finish();
  ASSERT_EQ(products.width(), 6 + 6 + 4 + 2);
  // A wider buffer: the products keep to their columns of it.
  auto buffer = torch::full({7, products.width() + 3}, 99.0f);
  auto out = buffer.narrow(1, 0, products.width());
  products.compute(x, out);
  auto expect = [&](std::int64_t key, const torch::Tensor& rows, std::int64_t column) {
    const auto want = torch::mm(x.narrow(1, grid.col_begin(column), grid.width(column)), rows.t());
    const auto got = out.narrow(1, products.offset(key), rows.size(0));
    EXPECT_TRUE(torch::allclose(got, want, 1e-5, 1e-5)) << "key " << key;
  };
  expect(in_0, shared, 0);
  expect(in_1, shared, 1);
  expect(a, narrow_a, 2);
  expect(b, narrow_b, 2);
  EXPECT_EQ(products.offset(a) + 4, products.offset(b));  // a column's blocks in the order registered
  EXPECT_TRUE(torch::equal(buffer.narrow(1, products.width(), 3), torch::full({7, 3}, 99.0f)));

  scoring::ColumnProducts alone(grid);
  const auto key = alone.add(1, shared);
  alone.finish();
  auto by_itself = torch::empty({7, alone.width()});
  alone.compute(x, by_itself);
  EXPECT_TRUE(torch::equal(by_itself.narrow(1, alone.offset(key), 6), out.narrow(1, products.offset(in_1), 6)));
}

// The device scorer (a GPU's) run on the CPU: the scores of the CPU engine up to
// float round-off, for a few held blocks and for every block (a row's tiles added
// in as many passes as it has blocks), the same bits twice, and its tiles refused
// beyond their budget with the option named.
TEST(GatherScorer, ScoresAsTheCpuEngine) {
  Victim s;
  const auto positions = static_cast<std::int32_t>(s.grid.count());
  for (std::int64_t holds : {std::int64_t{6}, kHeld, s.grid.count()}) {
    auto fitness = s.fitness(1 << 30, holds);
    scoring::GatherScorer gather(fitness.knowledge(), scoring::FitnessKind::loss, torch::kCPU, 1 << 30, "--test");
    auto population = random_population(7, positions, 11);
    population.push_back(blocks::Genome(s.order.begin(), s.order.end()));
    const auto expected = fitness.evaluate(population), scored = gather.evaluate(population);
    expect_same_scores(scored.fitness, expected.fitness, "gathered");
    for (std::size_t i = 0; i < population.size(); ++i) {
      EXPECT_NEAR(scored.fitness[i], -s.loss_of(population[i], holds), 1e-4) << holds << " held, candidate " << i;
      EXPECT_NEAR(scored.accuracy[i], expected.accuracy[i], 2.0 / kImages) << holds << " held, candidate " << i;
    }
    const auto again = gather.evaluate(population);
    EXPECT_EQ(again.fitness, scored.fitness) << holds << " held";
  }
}

TEST(GatherScorer, RefusesTilesBeyondItsBudget) {
  Victim s;
  auto fitness = s.fitness(1 << 30);
  const auto needed = scoring::GatherScorer::tile_bytes(fitness.knowledge());
  EXPECT_EQ(needed, s.grid.cols * kHeld * kImages * s.grid.bh * 4);
  try {
    scoring::GatherScorer gather(fitness.knowledge(), scoring::FitnessKind::loss, torch::kCPU, needed - 1,
                                 "--bench.cache_mb");
    FAIL() << "tiles beyond the budget were accepted";
  } catch (const tessera::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--bench.cache_mb"), std::string::npos) << e.what();
  }
}

// The layers after the target, copied as tensor functions (what a GPU scorer runs),
// give the network's logits.
TEST(TargetLayer, DeviceCopyGivesTheSameLogits) {
  Victim s;
  torch::NoGradGuard no_grad;
  const auto pre = torch::randn({kImages, s.layer.weight.size(0)});
  const auto copy = s.layer.on_device(torch::kCPU);
  EXPECT_TRUE(copy.before.empty());
  EXPECT_EQ(copy.after.size(), s.layer.after.size());
  EXPECT_TRUE(torch::allclose(copy.after_layer(pre), s.layer.after_layer(pre), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(copy.bias, s.layer.bias));
}
