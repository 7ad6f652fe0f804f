#include "comm/device.hpp"

#include <algorithm>
#include <chrono>

#include "core/error.hpp"

namespace tessera::comm {

bool cuda_build() {
#ifdef TESSERA_HAVE_CUDA_TORCH
  return true;
#else
  return false;
#endif
}

int visible_gpus() {
  return cuda_build() && torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

torch::Device require_device(const std::string& option, const std::string& value, int local_rank) {
  TESSERA_REQUIRE(value == "cpu" || value == "cuda", option, ": must be cpu or cuda, got '", value, "'");
  if (value == "cpu") return torch::kCPU;
  TESSERA_REQUIRE(cuda_build(), option, "=cuda: this build's LibTorch has no CUDA (build with cmake/build-cuda.sh)");
  const int gpus = visible_gpus();
  TESSERA_REQUIRE(gpus > 0, option, "=cuda: no GPU is visible to this process");
  // Full float32 on the GPU, as on the CPU: results are checked against CPU models
  // (1e-4 on the logits), and TF32 (cuDNN's convolutions use it by default) would
  // differ from them by about 1e-3.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setFloat32MatmulPrecision("highest");
  return torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(local_rank % gpus));
}

void finish_device_work(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

double sgemm_rate(torch::Device device) {
  const std::int64_t n = device.is_cpu() ? 1024 : 8192;
  const auto options = torch::TensorOptions().device(device);
  auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  auto c = torch::mm(a, b);
  finish_device_work(device);
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    finish_device_work(device);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 2.0 * n * n * n / best;
}

}  // namespace tessera::comm
