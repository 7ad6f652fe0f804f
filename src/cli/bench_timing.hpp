// Timing helpers shared by the benchmarks.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "comm/device.hpp"

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

using comm::sgemm_rate;  // the benchmarks' floors are flop counts at this rate

}  // namespace tessera::cli
