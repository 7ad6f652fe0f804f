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

// Single-precision GEMM rate of this process on `device` (flop/s): best of 5
// products of two n x n matrices, n = 1024 on the CPU and 8192 on a GPU (large
// enough to keep one busy). The benchmarks' floors are flop counts at this rate.
inline double sgemm_rate(torch::Device device = torch::kCPU) {
  const std::int64_t n = device.is_cpu() ? 1024 : 8192;
  const auto options = torch::TensorOptions().device(device);
  auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  auto c = torch::mm(a, b);
  comm::finish_device_work(device);
  double best = 1e30;
  for (int i = 0; i < 5; ++i)
    best = std::min(best, seconds_of([&] {
                      torch::mm_out(c, a, b);
                      comm::finish_device_work(device);
                    }));
  return 2.0 * n * n * n / best;
}

}  // namespace tessera::cli
