// Weight-statistics matching (docs/DESIGN.md section 8.3): signatures of the positions
// that the adversary can compute, matched with statistics of each held block.
// - Columns: an input feature that is rarely active on the adversary's images gets
//   small gradients, so weight decay shrinks its weights: a block's column norms
//   follow the mean magnitude of the inputs of the column it belongs in.
// - Rows: an output unit whose outgoing weights (the known next Linear's column) are
//   small matters little to the loss and its incoming weights shrink too: a block's
//   row norms follow the norms of the next layer's columns of its row group.
// The cost of held block k at position (r, c) is minus the sum of the two Pearson
// correlations; the assignment of least cost is the answer (no search follows).
#include "search/methods.hpp"

namespace tessera::search {

namespace {

torch::Tensor statistics_costs(const Fitness& fitness) {
  torch::NoGradGuard no_grad;
  const auto& k = fitness.knowledge();
  const auto& g = k.grid;
  const auto H = fitness.held();
  // Columns: the inputs' mean magnitude per column of the grid (C, bw) against each
  // block's column norms (H, bw).
  auto activity = standardised_rows(k.features.abs().mean(0).reshape({g.cols, g.bw}));
  auto column_norms = standardised_rows(k.held.norm(2, 1));  // (H, bw): over each column's bh rows
  auto by_column = torch::mm(column_norms, activity.t());     // (H, C)
  // Rows: the next Linear's column norms per row group (R, bh) against each block's
  // row norms (H, bh); nothing when no Linear follows the target layer.
  auto by_row = torch::zeros({H, g.rows}, torch::kDouble);
  for (const auto& step : k.layer.after) {
    if (!step.linear) continue;
    auto outgoing = standardised_rows(step.linear->weight.detach().norm(2, 0).reshape({g.rows, g.bh}));
    auto row_norms = standardised_rows(k.held.norm(2, 2));  // (H, bh): over each row's bw columns
    by_row = torch::mm(row_norms, outgoing.t());            // (H, R)
    break;
  }
  // Position p = r * C + c.
  return -(by_row.unsqueeze(2) + by_column.unsqueeze(1)).reshape({H, g.rows * g.cols});
}

}  // namespace

const SearchMethod statistics_matching_method{
    "stats",
    "weight-statistics matching: block row and column norms against the inputs' activity and the next "
    "layer's weights, one assignment",
    [](po::options_description&) {},
    [](const Config&, MethodSettings&) {},
    [](const MethodSettings&) {},
    [](const MethodSettings&) { return 1.0; },
    "",
    [](Fitness& fitness, const MethodSettings&, std::uint64_t, MPI_Comm) {
      return make_fixed_placement(fitness, least_cost_placement(statistics_costs(fitness)));
    },
    nullptr,  // its answer comes from the data alone
    true,
    [](const h5::Group&, const MethodSettings&) {},
    false};

}  // namespace tessera::search
