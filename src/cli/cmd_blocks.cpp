// tessera blocks: cuts a layer of a model file into blocks, places the blocks on
// devices and the devices on ranks, and writes the placement (/blocks).
#include <filesystem>

#include "blocks/placement.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/comm.hpp"
#include "core/log.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"

namespace tessera::cli {

namespace {

void add_options(po::options_description& options) {
  add_common_options(options, "blocks");
  add_block_options(options);
  options.add_options()("blocks.ranks", po::value<int>()->default_value(0),
                        "service ranks the devices are placed on (0 = the ranks of this job)");
}

int run(const Config& config, MPI_Comm world) {
  const auto folder = output_folder(config, world);
  const auto model = models::load(config.get<std::string>("model.checkpoint"), world,
                                  config.defaulted("model.arch") ? "" : config.get<std::string>("model.arch"));
  const int world_size = size_of(world);

  auto layer = config.get<std::string>("blocks.layer");
  const auto [grid, placement] = agree(world, [&] {
    if (layer.empty()) layer = models::largest_linear(*model.network);
    torch::Tensor weight;
    for (const auto& item : model.network->named_parameters())
      if (item.key() == layer + ".weight") weight = item.value();
    TESSERA_REQUIRE(weight.defined(), "--blocks.layer: the ", model.info.arch, " has no layer '", layer, "'");
    const auto matrix = blocks::as_matrix(weight);
    const auto grid = blocks::Grid::make(matrix.size(0), matrix.size(1), config.get<std::int64_t>("blocks.bh"),
                                         config.get<std::int64_t>("blocks.bw"), layer + ".weight");
    int ranks = config.get<int>("blocks.ranks");
    TESSERA_REQUIRE(ranks >= 0, "--blocks.ranks: must be >= 0, got ", ranks);
    return std::make_pair(grid, blocks::place(grid, config.get<std::int64_t>("blocks.per_device"),
                                              config.get<std::string>("blocks.placement"),
                                              config.get<std::uint64_t>("run.seed"), ranks ? ranks : world_size));
  });

  const auto path = (std::filesystem::path(folder) / "blocks.h5").string();
  io::OutputFile file(path, world, {"blocks", config.ini_text(), config.get<std::uint64_t>("run.seed")});
  blocks::write(placement, grid, layer, file.root().require_group("blocks"));
  file.commit();
  log::info(layer, ".weight ", grid.out, "x", grid.in, " in ", grid.bh, "x", grid.bw, " blocks: ", grid.rows,
            " x ", grid.cols, " = ", grid.count(), " blocks on ", placement.devices(), " devices over ",
            placement.rank_of_device.back() + 1, " ranks; wrote '", path, "'");
  return 0;
}

}  // namespace

const Command blocks_command{"blocks", "cut a model layer into blocks and place them on devices and ranks",
                             add_options, run};

}  // namespace tessera::cli
