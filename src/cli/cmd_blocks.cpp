// tessera blocks: cuts layers of a model file into blocks, places the blocks on
// devices and the devices on ranks, and writes the placement (/blocks).
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/ranks.hpp"
#include "core/log.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"

namespace tessera::cli {

namespace cmd_blocks {
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
  const auto targets = agree(world, [&] {
    const int ranks = config.get<int>("blocks.ranks");
    TESSERA_REQUIRE(ranks >= 0, "--blocks.ranks: must be >= 0, got ", ranks);
    return blocks::plan(*model.network, block_settings(config), ranks ? ranks : size_of(world),
                         /*linear_only=*/false);
  });

  const auto path = checked_output_file((std::filesystem::path(folder) / "blocks.h5").string(), world);
  io::OutputFile file(path, world, {"blocks", config.ini_text(), config.get<std::uint64_t>("run.seed")});
  blocks::write_targets(targets, file.root());
  file.commit();
  for (const auto& t : targets)
    log::info(t.layer, ".weight ", t.grid.out, "x", t.grid.in, " in ", t.grid.bh, "x", t.grid.bw, " blocks: ",
              t.grid.rows, " x ", t.grid.cols, " = ", t.grid.count(), " blocks on ", t.placement.devices(),
              " devices over ", t.placement.rank_of_device.empty() ? 0 : *std::max_element(
                  t.placement.rank_of_device.begin(), t.placement.rank_of_device.end()) + 1, " ranks");
  log::info("wrote '", path, "'");
  return 0;
}

}  // namespace
}  // namespace cmd_blocks

const Command blocks_command{"blocks", "cut model layers into blocks and place them on devices and ranks",
                             cmd_blocks::add_options, cmd_blocks::run};

}  // namespace tessera::cli
