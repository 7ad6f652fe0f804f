#include "sweeps/sweep.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <iterator>
#include <numeric>

#include "core/ranks.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/stop.hpp"
#include "core/rng.hpp"
#include "scoring/column_products.hpp"
#include "sweeps/adversary.hpp"

namespace tessera::sweeps {

namespace {
constexpr double kMaxGridValues = 1e6;

double number(const std::string& text, const std::string& option) {
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  throw Error(option + ": '" + text + "' is not a finite number");
}
}  // namespace

std::vector<double> parse_grid(const std::string& text, const std::string& option) {
  std::vector<double> values;
  for (const auto& item : split_list(text, option)) {
    std::vector<std::string> parts;
    std::size_t start = 0, colon;
    while ((colon = item.find(':', start)) != std::string::npos) {
      parts.push_back(item.substr(start, colon - start));
      start = colon + 1;
    }
    parts.push_back(item.substr(start));
    if (parts.size() == 1) {
      values.push_back(number(parts[0], option));
      continue;
    }
    TESSERA_REQUIRE(parts.size() == 3, option, ": '", item, "' is neither a value nor first:last:step");
    const double first = number(parts[0], option), last = number(parts[1], option), step = number(parts[2], option);
    TESSERA_REQUIRE(step > 0 && last >= first, option, ": range '", item, "' needs step > 0 and last >= first");
    // Counted, not accumulated, so 0.9:1.0:0.001 ends exactly at 1.0.
    const double counted = std::floor((last - first) / step + 1e-9) + 1;
    TESSERA_REQUIRE(std::isfinite(counted) && counted <= kMaxGridValues, option, ": range '", item, "' has ",
                    counted, " values; at most ", static_cast<std::int64_t>(kMaxGridValues), " per option");
    const auto count = static_cast<std::int64_t>(counted);
    for (std::int64_t k = 0; k < count; ++k) values.push_back(std::round((first + k * step) * 1e9) / 1e9);
  }
  TESSERA_REQUIRE(!values.empty(), option, ": no values given");
  TESSERA_REQUIRE(values.size() <= kMaxGridValues, option, ": ", values.size(), " values; at most ",
                  static_cast<std::int64_t>(kMaxGridValues));
  return values;
}

namespace {

// The state a sweep starts from: the checkpoint's finished points (load_checkpoint),
// or none. Only rank 0 keeps the finished values, so that summing every rank's values
// counts them once.
SweepState starting_state(const Checkpointing& checkpointing, std::int64_t units, std::int64_t points,
                          const std::string& label, MPI_Comm comm) {
  if (!checkpointing.restored) {
    if (checkpointing.resume) log::info(label, ": no checkpoint '", checkpointing.path, "' yet; starting from the first point");
    return {std::vector<std::uint8_t>(units, 0), std::vector<double>(points * 4, 0.0)};
  }
  auto state = *checkpointing.restored;
  agree(comm, [&] {
    TESSERA_REQUIRE(static_cast<std::int64_t>(state.done.size()) == units &&
                        static_cast<std::int64_t>(state.values.size()) == 4 * points,
                    "--run.resume: '", checkpointing.path, "' holds a sweep of ", state.done.size(), " units, this one has ",
                    units);
  });
  log::info(label, ": continuing from '", checkpointing.path, "': ", state.done_units(), " of ", units,
            " units of work done");
  if (rank_of(comm) != 0) std::fill(state.values.begin(), state.values.end(), 0.0);
  return state;
}

// Collective: rank 0 writes every rank's finished points to the checkpoint.
void save(const Checkpointing& checkpointing, const std::string& label, const SweepState& mine, MPI_Comm comm) {
  SweepState all{std::vector<std::uint8_t>(mine.done.size()), std::vector<double>(mine.values.size())};
  MPI_Reduce(mine.done.data(), all.done.data(), static_cast<int>(mine.done.size()), MPI_UINT8_T, MPI_MAX, 0, comm);
  MPI_Reduce(mine.values.data(), all.values.data(), static_cast<int>(mine.values.size()), MPI_DOUBLE, MPI_SUM, 0,
             comm);
  agree(comm, [&] {
    if (rank_of(comm) == 0) write_sweep_checkpoint(checkpointing, label, all);
  });
}

}  // namespace

std::vector<PointResult> spread_units(MPI_Comm comm, std::int64_t units, std::int64_t points,
                                      const std::function<UnitResults(std::int64_t)>& body, const std::string& label,
                                      const Checkpointing& checkpointing) {
  const int rank = rank_of(comm), size = size_of(comm);
  auto state = starting_state(checkpointing, units, points, label, comm);
  std::vector<std::int64_t> remaining;
  for (std::int64_t u = 0; u < units; ++u)
    if (!state.done[u]) remaining.push_back(u);
  const auto rounds = (static_cast<std::int64_t>(remaining.size()) + size - 1) / size;
  std::int64_t finished_here = 0;  // units this rank finished in this run
  log::Progress progress(label, rounds);
  auto last_save = std::chrono::steady_clock::now();
  for (std::int64_t round = 0; round < rounds; ++round) {
    const auto at = round * size + rank;
    if (at < static_cast<std::int64_t>(remaining.size())) {
      const auto u = remaining[at];
      for (const auto& [i, result] : body(u)) {
        state.values[i * 4 + 0] = result.score.accuracy;
        state.values[i * 4 + 1] = result.score.loss;
        state.values[i * 4 + 2] = result.score.fidelity;
        state.values[i * 4 + 3] = result.held_fraction;
      }
      state.done[u] = 1;
      ++finished_here;
    }
    progress.advance();
    // Every rank passes here once per round, so a signal to any one rank (or rank
    // 0's checkpoint clock) is acted on by all of them together.
    const bool due = rank == 0 && !checkpointing.path.empty() && round + 1 < rounds &&
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count() >=
                         checkpointing.every_seconds;
    int flags[2] = {stop::received() ? stop::received() : INT_MAX, due ? 0 : 1};
    MPI_Allreduce(MPI_IN_PLACE, flags, 2, MPI_INT, MPI_MIN, comm);
    const int signal = flags[0] == INT_MAX ? 0 : flags[0];
    if (flags[1] == 0 || signal) {
      if (!checkpointing.path.empty()) save(checkpointing, label, state, comm);
      last_save = std::chrono::steady_clock::now();
    }
    if (signal) {
      std::int64_t done = finished_here;
      MPI_Allreduce(MPI_IN_PLACE, &done, 1, MPI_INT64_T, MPI_SUM, comm);
      done += units - static_cast<std::int64_t>(remaining.size());
      const auto kept = checkpointing.path.empty()
                            ? std::string("no file written")
                            : "finished points kept in '" + checkpointing.path + "'; continue with --run.resume=true";
      throw stop::Stopped(stop::signal_name(signal) + " received after " + std::to_string(done) + " of " +
                          std::to_string(units) + " units of work of the " + label + " sweep; " + kept);
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, state.values.data(), static_cast<int>(state.values.size()), MPI_DOUBLE, MPI_SUM, comm);
  std::vector<PointResult> results(points);
  for (std::int64_t i = 0; i < points; ++i) {
    const double* v = &state.values[i * 4];
    results[i] = {{v[0], v[1], v[2]}, v[3]};
  }
  return results;
}

std::vector<PointResult> spread(MPI_Comm comm, std::int64_t count, const std::function<PointResult(std::int64_t)>& body,
                                const std::string& label) {
  return spread_units(comm, count, count, [&](std::int64_t i) { return UnitResults{{i, body(i)}}; }, label, {});
}

namespace {
constexpr std::int64_t kSegment = 8;  // rates built incrementally in one unit

double fraction(std::size_t held, const Evaluator& evaluator) {
  return static_cast<double>(held) / static_cast<double>(evaluator.blocks());
}
}  // namespace

std::vector<PointResult> drop_sweep(MPI_Comm comm, const Evaluator& evaluator, const blocks::Placement& placement,
                                    const std::vector<double>& rates, std::int64_t repeats, std::uint64_t seed,
                                    const Checkpointing& checkpointing) {
  const auto m = static_cast<std::int64_t>(rates.size());
  std::vector<std::int64_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return rates[a] > rates[b]; });
  const std::int64_t segments = (m + kSegment - 1) / kSegment;
  return spread_units(comm, repeats * segments, m * repeats, [&](std::int64_t u) {
    const auto k = u / segments, first = u % segments * kSegment;
    UnitResults results;
    auto y = evaluator.bias_rows();
    std::vector<std::int64_t> have;
    for (auto at = first; at < std::min(m, first + kSegment); ++at) {
      const auto a = order[at];
      auto held = held_blocks(placement, rates[a], seed, k);
      std::vector<std::int64_t> added;
      std::set_difference(held.begin(), held.end(), have.begin(), have.end(), std::back_inserter(added));
      TESSERA_ASSERT(added.size() + have.size() == held.size(), "held sets of one repeat are nested");
      evaluator.add_products(y, added, added);
      results.push_back({a * repeats + k, {evaluator.score_pre_activation(y), fraction(held.size(), evaluator)}});
      have = std::move(held);
    }
    return results;
  }, "drop", checkpointing);
}

std::uint64_t swap_sequence_seed(std::uint64_t seed, std::int64_t rate_index, std::int64_t repeat) {
  return derive_seed(seed, "swap:" + std::to_string(rate_index), static_cast<std::uint64_t>(repeat));
}

namespace {
// Images per slice of the swap sweep: the layers after the target layer run on
// slice x out pre-activations per pair count (large GEMMs; 16 pair counts x 1000
// x 1024 floats = 64 MB of buffers).
constexpr std::int64_t kSlice = 1000;
// Images per part of a slice whose block products are cached at once: bounds the
// cache (distinct products x part x bh floats, ~30 MB for 900 products) and keeps
// it warm for the sums, while the product GEMMs stay as fast as with 1000 rows.
constexpr std::int64_t kPart = 128;

// The block products one (rate, repeat) unit needs (scoring::ColumnProducts: the
// product of a placed block depends on the block and its column, not its row). A
// held block visits only a few places over the unit's nested pair counts (each
// transposition moves two blocks), so only the (block, column) pairs visited are
// registered, each computed once per part of the eval set, and every point only
// sums its H cached products. That does fewer block flops than scoring points one
// by one, and one GEMM per column instead of many small ones that re-pack x_c.
class ProductCache {
 public:
  ProductCache(const Evaluator& evaluator, const blocks::Grid& grid, const std::vector<std::int64_t>& held,
               const std::vector<std::vector<std::int64_t>>& positions)
      : grid_(grid), products_of_(grid), bias_(evaluator.bias_rows(1)) {
    TESSERA_ASSERT(bias_.scalar_type() == torch::kFloat, "fill() sums float32 products");
    std::vector<std::int64_t> key(held.size() * grid.cols, -1);  // [held index * cols + column]
    for (const auto& position : positions) {
      tiles_.emplace_back();
      for (std::size_t i = 0; i < held.size(); ++i) {
        const auto r = grid.row_of(position[i]), c = grid.col_of(position[i]);
        auto& at = key[i * grid.cols + c];
        if (at < 0) at = products_of_.add(c, evaluator.block_weight(held[i]));
        tiles_.back().push_back({grid.row_begin(r), at, grid.height(r)});
      }
    }
    products_of_.finish();
    for (auto& tiles : tiles_)
      for (auto& tile : tiles) tile.offset = products_of_.offset(tile.offset);
    // One buffer for all products of a part, kept for the whole unit: an image's
    // products are one contiguous row, and no part pays for fresh pages again.
    products_ = torch::empty({std::min(kPart, evaluator.images()), products_of_.width()});
  }

  // The products for the images whose features are `x` (at most kPart rows x in).
  void compute(const torch::Tensor& x) {
    TESSERA_ASSERT(x.size(0) <= products_.size(0));
    auto out = products_.narrow(0, 0, x.size(0));
    products_of_.compute(x, out);
  }

  // Rows [at, at + rows) of ys[j] (contiguous, out wide) = bias + the products
  // placed by positions[j], for the images of the last compute(). A plain loop:
  // per image the output row stays in L1 while the products are added, where one
  // tensor add_ per block was a pass over memory each (3x slower). The sum per
  // output element is in held order whatever the instruction set or rank count.
  __attribute__((target_clones("avx512f", "avx2", "default")))
  void fill(std::vector<torch::Tensor>& ys, std::int64_t at, std::int64_t rows) const {
    const auto out = grid_.out, stride = products_.size(1);
    const float* bias = bias_.data_ptr<float>();
    const float* products = products_.data_ptr<float>();
    for (std::int64_t e = 0; e < rows; ++e) {
      const float* __restrict image = products + e * stride;
      for (std::size_t j = 0; j < tiles_.size(); ++j) {  // pair counts inside: the image's products stay in L2
        TESSERA_ASSERT(ys[j].is_contiguous() && ys[j].size(0) >= at + rows && ys[j].size(1) == out);
        float* __restrict row = ys[j].data_ptr<float>() + (at + e) * out;
        std::copy(bias, bias + out, row);
        for (const auto& tile : tiles_[j]) add(row + tile.row_begin, image + tile.offset, tile.height);
      }
    }
  }

 private:
  struct Tile {
    std::int64_t row_begin, offset, height;  // output rows <- products at offset (a key until finished)
  };
  static void add(float* __restrict to, const float* __restrict from, std::int64_t n) {
    if (n == 64) {  // the usual block height: a fixed trip count the compiler unrolls
      for (int k = 0; k < 64; ++k) to[k] += from[k];
    } else {
      for (std::int64_t k = 0; k < n; ++k) to[k] += from[k];
    }
  }
  const blocks::Grid& grid_;
  scoring::ColumnProducts products_of_;    // every (block, column) the unit visits
  std::vector<std::vector<Tile>> tiles_;  // per pair count, in held order
  torch::Tensor products_, bias_;
};
}  // namespace

std::vector<PointResult> swap_sweep(MPI_Comm comm, const Evaluator& evaluator, const blocks::Placement& placement,
                                    const blocks::Grid& grid, const std::vector<double>& rates,
                                    const std::vector<double>& pairs, std::int64_t repeats, std::uint64_t seed,
                                    const Checkpointing& checkpointing) {
  const auto m = static_cast<std::int64_t>(rates.size()), s = static_cast<std::int64_t>(pairs.size());
  return spread_units(comm, m * repeats, m * s * repeats, [&](std::int64_t u) {
    torch::NoGradGuard no_grad;
    const auto a = u / repeats, k = u % repeats;
    const auto held = held_blocks(placement, rates[a], seed, k);
    std::vector<std::vector<std::int64_t>> positions;
    for (std::int64_t b = 0; b < s; ++b)
      positions.push_back(
          transposed_positions(held, grid, static_cast<std::int64_t>(pairs[b]), swap_sequence_seed(seed, a, k)));
    ProductCache cache(evaluator, grid, held, positions);
    // Slices are fixed by the eval set, never by the rank count: the sums of the
    // slices' tallies (and so the scores) do not depend on it.
    std::vector<Evaluator::Tally> tallies(s);
    const auto pre_activations = torch::empty({s, std::min(kSlice, evaluator.images()), grid.out});
    for (std::int64_t begin = 0; begin < evaluator.images(); begin += kSlice) {
      const auto rows = std::min(kSlice, evaluator.images() - begin);
      std::vector<torch::Tensor> ys(s);
      for (std::int64_t b = 0; b < s; ++b) ys[b] = pre_activations[b].narrow(0, 0, rows);
      for (std::int64_t at = 0; at < rows; at += kPart) {
        const auto part = std::min(kPart, rows - at);
        cache.compute(evaluator.features(begin + at, part));
        cache.fill(ys, at, part);
      }
      // ys are refilled for every slice, so the layers after may work in them.
      for (std::int64_t b = 0; b < s; ++b) tallies[b] += evaluator.tally_pre_activation(ys[b], begin, true);
    }
    UnitResults results;
    for (std::int64_t b = 0; b < s; ++b)
      results.push_back({(a * s + b) * repeats + k, {evaluator.score_of(tallies[b]), fraction(held.size(), evaluator)}});
    return results;
  }, "swap", checkpointing);
}

}  // namespace tessera::sweeps
