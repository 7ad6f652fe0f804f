#include "threat/sweep.hpp"

#include <cmath>

#include "core/comm.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

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

std::vector<PointResult> spread(MPI_Comm comm, std::int64_t count, const std::function<PointResult(std::int64_t)>& body,
                                const std::string& label) {
  const int rank = rank_of(comm), size = size_of(comm);
  std::vector<double> values(static_cast<std::size_t>(count) * 4, 0.0);
  log::Progress progress(label, (count + size - 1 - rank) / size);
  for (std::int64_t i = rank; i < count; i += size) {
    const auto result = body(i);
    values[i * 4 + 0] = result.score.accuracy;
    values[i * 4 + 1] = result.score.loss;
    values[i * 4 + 2] = result.score.fidelity;
    values[i * 4 + 3] = result.held_fraction;
    progress.advance();
  }
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, comm);
  std::vector<PointResult> results(count);
  for (std::int64_t i = 0; i < count; ++i)
    results[i] = {{values[i * 4], values[i * 4 + 1], values[i * 4 + 2]}, values[i * 4 + 3]};
  return results;
}

}  // namespace tessera::threat
