// How every benchmark times, in one place: a warm-up, then repeats in which every
// case runs once in an order rotated by one each repeat (so that a slow phase of the
// machine hits all cases alike), medians over the repeats, and ratios taken within
// a repeat before their median (so that drift between repeats cancels).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/log.hpp"

namespace tessera::bench {

// The median of `values` (the mean of the middle two for an even count).
double median(std::vector<double> values);

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class Body>
double seconds_of(Body&& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return seconds_since(start);
}

// One case: `run(r)` does repeat r's work and returns its seconds (r = 0 is the
// warm-up, whose seconds are not kept; timed repeats are 1 .. repeats). A case that
// spans ranks times itself alike on each, so the rotation is the same everywhere.
struct TimedCase {
  std::string name;
  std::function<double(int repeat)> run;
};

enum class Warmup { yes, no };

// The seconds of every case in every timed repeat.
class Timings {
 public:
  explicit Timings(std::size_t cases) : seconds_(cases) {}
  void add(std::size_t c, double seconds) { seconds_.at(c).push_back(seconds); }
  const std::vector<double>& seconds(std::size_t c) const { return seconds_.at(c); }
  double median(std::size_t c) const { return bench::median(seconds_.at(c)); }
  // The median over the repeats of case a's seconds over case b's in the same repeat.
  double median_ratio(std::size_t a, std::size_t b) const;

 private:
  std::vector<std::vector<double>> seconds_;
};

// Runs the cases as the header says; advances `progress` (if given) once per repeat,
// the warm-up included.
Timings time_cases(const std::vector<TimedCase>& cases, int repeats, Warmup warmup, log::Progress* progress = nullptr);

// --bench.repeats, the same option in every benchmark that repeats: timed repeats of
// each case (default 5), and its value, checked (call inside agree).
void add_repeats_option(po::options_description& options);
int repeats_of(const Config& config);

}  // namespace tessera::bench
