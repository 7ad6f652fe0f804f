#include "threat/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <numeric>

#include "core/comm.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "threat/adversary.hpp"

namespace tessera::threat {

namespace {
double number(const std::string& text, const std::string& option) {
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error(option + ": '" + text + "' is not a number");
}
}  // namespace

std::vector<double> parse_grid(const std::string& text, const std::string& option) {
  std::vector<double> values;
  for (const auto& item : split_list(text)) {
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
    const auto count = static_cast<std::int64_t>(std::floor((last - first) / step + 1e-9)) + 1;
    for (std::int64_t k = 0; k < count; ++k) values.push_back(std::round((first + k * step) * 1e9) / 1e9);
  }
  TESSERA_REQUIRE(!values.empty(), option, ": no values given");
  return values;
}

std::vector<PointResult> spread_units(MPI_Comm comm, std::int64_t units, std::int64_t points,
                                      const std::function<UnitResults(std::int64_t)>& body, const std::string& label) {
  const int rank = rank_of(comm), size = size_of(comm);
  std::vector<double> values(static_cast<std::size_t>(points) * 4, 0.0);
  log::Progress progress(label, (units + size - 1 - rank) / size);
  for (std::int64_t u = rank; u < units; u += size) {
    for (const auto& [i, result] : body(u)) {
      values[i * 4 + 0] = result.score.accuracy;
      values[i * 4 + 1] = result.score.loss;
      values[i * 4 + 2] = result.score.fidelity;
      values[i * 4 + 3] = result.held_fraction;
    }
    progress.advance();
  }
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, comm);
  std::vector<PointResult> results(points);
  for (std::int64_t i = 0; i < points; ++i)
    results[i] = {{values[i * 4], values[i * 4 + 1], values[i * 4 + 2]}, values[i * 4 + 3]};
  return results;
}

std::vector<PointResult> spread(MPI_Comm comm, std::int64_t count, const std::function<PointResult(std::int64_t)>& body,
                                const std::string& label) {
  return spread_units(comm, count, count, [&](std::int64_t i) { return UnitResults{{i, body(i)}}; }, label);
}

namespace {
constexpr std::int64_t kSegment = 8;  // rates built incrementally in one unit

double fraction(std::size_t held, const Evaluator& evaluator) {
  return static_cast<double>(held) / static_cast<double>(evaluator.blocks());
}
}  // namespace

std::vector<PointResult> drop_sweep(MPI_Comm comm, const Evaluator& evaluator, const blocks::Placement& placement,
                                    const std::vector<double>& rates, std::int64_t repeats, std::uint64_t seed) {
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
  }, "drop");
}

std::uint64_t swap_sequence_seed(std::uint64_t seed, std::int64_t rate_index, std::int64_t repeat) {
  return derive_seed(seed, "swap:" + std::to_string(rate_index), static_cast<std::uint64_t>(repeat));
}

std::vector<PointResult> swap_sweep(MPI_Comm comm, const Evaluator& evaluator, const blocks::Placement& placement,
                                    const blocks::Grid& grid, const std::vector<double>& rates,
                                    const std::vector<double>& pairs, std::int64_t repeats, std::uint64_t seed) {
  const auto m = static_cast<std::int64_t>(rates.size()), s = static_cast<std::int64_t>(pairs.size());
  std::vector<std::int64_t> order(s);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return pairs[a] < pairs[b]; });
  return spread_units(comm, m * repeats, m * s * repeats, [&](std::int64_t u) {
    const auto a = u / repeats, k = u % repeats;
    const auto held = held_blocks(placement, rates[a], seed, k);
    UnitResults results;
    auto y = evaluator.bias_rows();
    evaluator.add_products(y, held, held);
    auto previous = held;
    for (auto b : order) {
      const auto count = static_cast<std::int64_t>(pairs[b]);
      const auto position = transposed_positions(held, grid, count, swap_sequence_seed(seed, a, k));
      std::vector<std::int64_t> moved, from, to;
      for (std::size_t i = 0; i < held.size(); ++i)
        if (position[i] != previous[i]) {
          moved.push_back(held[i]);
          from.push_back(previous[i]);
          to.push_back(position[i]);
        }
      if (2 * moved.size() > held.size()) {  // cheaper to start again than to move most blocks
        y = evaluator.bias_rows();
        evaluator.add_products(y, held, position);
      } else {
        evaluator.add_products(y, moved, from, -1.0);
        evaluator.add_products(y, moved, to, 1.0);
      }
      previous = position;
      results.push_back({(a * s + b) * repeats + k, {evaluator.score_pre_activation(y), fraction(held.size(), evaluator)}});
    }
    return results;
  }, "swap");
}

}  // namespace tessera::threat
