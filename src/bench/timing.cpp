#include "bench/timing.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tessera::bench {

double median(std::vector<double> values) {
  TESSERA_ASSERT(!values.empty(), "the median of no values");
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double Timings::median_ratio(std::size_t a, std::size_t b) const {
  const auto &x = seconds_.at(a), &y = seconds_.at(b);
  TESSERA_ASSERT(x.size() == y.size(), "ratios of cases timed in different repeats");
  std::vector<double> ratios(x.size());
  for (std::size_t r = 0; r < x.size(); ++r) ratios[r] = x[r] / y[r];
  return bench::median(ratios);
}

Timings time_cases(const std::vector<TimedCase>& cases, int repeats, Warmup warmup, log::Progress* progress) {
  TESSERA_ASSERT(!cases.empty() && repeats >= 1, "time_cases: no case or no repeat");
  Timings timings(cases.size());
  if (warmup == Warmup::yes) {
    for (const auto& c : cases) c.run(0);
    if (progress) progress->advance();
  }
  for (int r = 1; r <= repeats; ++r) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const auto c = (i + static_cast<std::size_t>(r - 1)) % cases.size();
      timings.add(c, cases[c].run(r));
    }
    if (progress) progress->advance();
  }
  return timings;
}

void add_repeats_option(po::options_description& options) {
  options.add_options()("bench.repeats", po::value<int>()->default_value(5),
                        "timed repeats of each case (medians are reported; ratios are taken within a repeat)");
}

int repeats_of(const Config& config) {
  const int repeats = config.get<int>("bench.repeats");
  TESSERA_REQUIRE(repeats >= 1, "--bench.repeats: must be >= 1, got ", repeats);
  return repeats;
}

}  // namespace tessera::bench
