#include "bench/target.hpp"

#include "cli/options.hpp"
#include "core/error.hpp"
#include "core/ranks.hpp"

namespace tessera::bench {

std::vector<double> held_fractions(const Config& config) {
  std::vector<double> fractions;
  for (const auto& text : split_list(config.get<std::string>("bench.held"), "--bench.held")) {
    std::size_t used = 0;
    double fraction = 0;
    try {
      fraction = std::stod(text, &used);
    } catch (const std::exception&) {
    }
    TESSERA_REQUIRE(used == text.size() && fraction > 0 && fraction <= 1, "--bench.held: '", text,
                    "' is not a fraction in (0, 1]");
    fractions.push_back(fraction);
  }
  return fractions;
}

BenchTarget load_bench_target(const Config& config, std::int64_t images, MPI_Comm world) {
  BenchTarget b;
  b.model = models::load(config.get<std::string>("model.checkpoint"), world,
                         config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  b.target = agree(world, [&] { return blocks::plan(*b.model.network, cli::block_settings(config), 1).front(); });
  b.data = agree(world, [&] {
    auto d = data::load(config.get<std::string>("data.name"), config.get<std::string>("data.dir"), 1, images);
    TESSERA_REQUIRE(d.test.size() >= images, "--bench.eval_images: the test set has ", d.test.size());
    return d;
  });
  b.layer = models::split_at(*b.model.network, b.target.layer);
  b.features = b.layer.features(b.data.test.images);
  b.blocks = blocks::split(b.layer.weight, b.target.grid);
  return b;
}

scoring::Knowledge bench_knowledge(const BenchTarget& b, const blocks::Genome& order, std::int64_t H) {
  std::vector<torch::Tensor> held;
  for (std::int64_t k = 0; k < H; ++k) held.push_back(b.blocks[order[k]]);
  auto known = b.layer;
  known.weight = torch::Tensor();
  return {b.target.grid, known, b.features, b.data.test.labels, b.data.test.labels, torch::stack(held), {}, {}, {}, {}, {}, {}};
}

}  // namespace tessera::bench
