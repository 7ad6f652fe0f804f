// Timing helpers shared by the benchmarks.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace tessera::cli {

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class Body>
double seconds_of(Body&& body) {
  const auto start = std::chrono::steady_clock::now();
  body();
  return seconds_since(start);
}

// Single-precision GEMM rate of this process (flop/s): 1024^3, best of 5. The
// benchmarks' floors are flop counts at this rate.
inline double sgemm_rate() {
  auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
  auto c = torch::mm(a, b);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) best = std::min(best, seconds_of([&] { torch::mm_out(c, a, b); }));
  return 2.0 * 1024 * 1024 * 1024 / best;
}

}  // namespace tessera::cli
