#include "attack/stolen_blocks.hpp"

#include <filesystem>

#include "attack/attack_runs.hpp"
#include "core/error.hpp"
#include "core/ranks.hpp"
#include "io/h5.hpp"

namespace tessera::attack {

double StolenBlocks::recovery() const {
  if (held.empty()) return 0;
  std::size_t right = 0;
  for (std::size_t k = 0; k < held.size(); ++k) right += held[k] == positions[k];
  return static_cast<double>(right) / static_cast<double>(held.size());
}

namespace {

StolenBlocks read_run(const h5::Group& g, models::Network& victim, const std::string& arch,
                      const std::string& where) {
  TESSERA_REQUIRE(!g.exists("true_layer"), where,
                  " is a run of the adversary that does not know its blocks' layer; fine-tune takes one layer's run");
  const auto run_arch = g.attr_string("arch");
  TESSERA_REQUIRE(run_arch == arch, where, " attacked a ", run_arch, " model, not the ", arch, " of --model.checkpoint");
  StolenBlocks stolen;
  stolen.layer = g.attr_string("layer");
  stolen.source = where;
  const auto parameters = victim.named_parameters();
  const auto* weight = parameters.find(stolen.layer + ".weight");
  TESSERA_REQUIRE(weight, where, " attacked layer ", stolen.layer, ", which the ", arch, " model does not have");
  const auto matrix = blocks::as_matrix(*weight);
  const auto out = matrix.size(0), in = matrix.size(1);
  stolen.grid = blocks::Grid::make(out, in, g.attr_int("bh"), g.attr_int("bw"), stolen.layer + ".weight");
  TESSERA_REQUIRE(stolen.grid.count() == g.attr_int("blocks"), where, ": ", g.attr_int("blocks"),
                  " blocks do not match its grid");
  const auto truth = g.dataset("truth").read<std::int32_t>();
  const auto genome = g.dataset("best_genome");
  const auto shape = genome.shape();
  TESSERA_REQUIRE(shape.size() == 2 && shape[0] >= 1 && shape[1] == truth.size(), where,
                  ": best_genome and truth do not match");
  const auto best = genome.read_slab<std::int32_t>({shape[0] - 1, 0}, {1, shape[1]});
  std::vector<bool> taken(stolen.grid.count(), false);
  for (std::size_t k = 0; k < truth.size(); ++k) {
    TESSERA_REQUIRE(truth[k] >= 0 && truth[k] < stolen.grid.count() && best[k] >= 0 &&
                        best[k] < stolen.grid.count() && !taken[best[k]],
                    where, ": held block ", k, " has a true position ", truth[k], " or a place ", best[k],
                    " that is not one of ", stolen.grid.count(), " free blocks");
    taken[best[k]] = true;
    stolen.held.push_back(truth[k]);
    stolen.positions.push_back(best[k]);
  }
  stolen.search = read_attack_run_summary(g, where);
  return stolen;
}

}  // namespace

StolenBlocks read_attack_run(const std::string& path, const std::string& run, models::Network& victim,
                             const std::string& arch, const std::string& option, MPI_Comm comm) {
  return agree(comm, [&] {
    std::vector<std::string> runs;
    try {
      auto file = h5::File::open(path, comm);
      auto root = file.root();
      if (root.exists("attack")) runs = root.group("attack").children();
      TESSERA_REQUIRE(!runs.empty(), "it has no /attack run (not written by tessera attack)");
      std::string name = run;
      if (name.empty()) {
        std::string list;
        for (const auto& r : runs) list += (list.empty() ? "" : ", ") + r;
        TESSERA_REQUIRE(runs.size() == 1, "it has ", runs.size(), " attack runs (", list, "); name one as FILE:RUN");
        name = runs.front();
      }
      TESSERA_REQUIRE(root.exists("attack/" + name), "it has no attack run '", name, "'");
      auto stolen = read_run(root.group("attack/" + name), victim, arch, path + ":/attack/" + name);
      stolen.name = std::filesystem::path(path).stem().string() + "-" + name;
      return stolen;
    } catch (const std::exception& e) {
      throw Error(option + ": '" + path + "': " + e.what());
    }
  });
}

Pasted paste(const torch::Tensor& start, const torch::Tensor& victim, const StolenBlocks& stolen) {
  const auto& g = stolen.grid;
  auto weight = start.detach().clone();
  auto mask = torch::zeros_like(weight);
  for (std::size_t k = 0; k < stolen.held.size(); ++k) {
    const auto from = stolen.held[k], to = stolen.positions[k];
    const auto h = g.height(g.row_of(from)), w = g.width(g.col_of(from));
    TESSERA_ASSERT(h == g.height(g.row_of(to)) && w == g.width(g.col_of(to)), "block ", from, " does not fit at ", to);
    const auto block = victim.narrow(0, g.row_begin(g.row_of(from)), h).narrow(1, g.col_begin(g.col_of(from)), w);
    weight.narrow(0, g.row_begin(g.row_of(to)), h).narrow(1, g.col_begin(g.col_of(to)), w).copy_(block);
    mask.narrow(0, g.row_begin(g.row_of(to)), h).narrow(1, g.col_begin(g.col_of(to)), w).fill_(1);
  }
  return {weight, mask};
}

}  // namespace tessera::attack
