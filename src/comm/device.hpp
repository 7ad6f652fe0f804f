// Where a rank's tensors live: the CPU, or one GPU when this build's LibTorch has
// CUDA and the process sees one.
#pragma once

#include <torch/torch.h>

#include <string>

namespace tessera::comm {

// Whether this build links a CUDA LibTorch.
bool cuda_build();
// GPUs visible to this process (0 in a CPU build).
int visible_gpus();

// The device named by `value` ("cpu" or "cuda") of the option `option` (its
// --name, for messages): GPU local_rank % visible_gpus() for "cuda", with TF32
// turned off (results stay float32, comparable with the CPU's). Raises an Error
// naming the option when the value is unknown, the build has no CUDA or no GPU is
// visible. Not collective: call it inside agree().
torch::Device require_device(const std::string& option, const std::string& value, int local_rank = 0);

// Waits for the work queued on `device` (a GPU runs it asynchronously): timings
// of GPU work end here.
void finish_device_work(torch::Device device);

// Single-precision GEMM rate of this process on `device` (flop/s): best of 5
// products of two n x n matrices, n = 1024 on the CPU and 8192 on a GPU (large
// enough to keep one busy). The floors of the benchmarks and of the attack's
// searches are flop counts at this rate.
double sgemm_rate(torch::Device device = torch::kCPU);

}  // namespace tessera::comm
