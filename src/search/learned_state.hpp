// What a learning search keeps between generations, in a form a checkpoint holds
// exactly: float32 tensors, Adam's moments as plain tensors, all written into and
// read back from the flat float64 vector of Search::save_state / load_state.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"

namespace tessera::search {

// Adam (Kingma and Ba, ICLR 2015) with its usual constants, on one float32 tensor.
struct Adam {
  double lr = 1e-3;
  torch::Tensor first, second;  // the moments, shaped as the parameter
  std::int64_t steps = 0;

  void reset(const torch::Tensor& parameter) {
    first = torch::zeros_like(parameter);
    second = torch::zeros_like(parameter);
    steps = 0;
  }
  void step(torch::Tensor& parameter, const torch::Tensor& gradient) {
    torch::NoGradGuard no_grad;
    constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
    ++steps;
    first.mul_(beta1).add_(gradient, 1 - beta1);
    second.mul_(beta2).addcmul_(gradient, gradient, 1 - beta2);
    const double first_correction = 1 - std::pow(beta1, static_cast<double>(steps));
    const double second_correction = 1 - std::pow(beta2, static_cast<double>(steps));
    parameter.addcdiv_(first, (second / second_correction).sqrt_().add_(epsilon), -lr / first_correction);
  }
};

// Appends a tensor's values (float64 holds float32 exactly).
inline void save_values(std::vector<double>& state, const torch::Tensor& tensor) {
  const auto values = tensor.to(torch::kCPU, torch::kDouble).contiguous();
  state.insert(state.end(), values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
}

// Reads a float32 tensor of `shape` from state[offset...] onto `device` and moves
// the offset past it.
inline torch::Tensor load_values(const std::vector<double>& state, std::size_t& offset, at::IntArrayRef shape,
                                 torch::Device device = torch::kCPU) {
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  TESSERA_REQUIRE(offset + count <= state.size(), "--run.resume: the checkpoint's search state is too short");
  auto tensor = torch::from_blob(const_cast<double*>(state.data()) + offset, shape, torch::kDouble).to(torch::kFloat);
  offset += count;
  return tensor.to(device).contiguous();
}

// Adam's step count and moments.
inline void save_values(std::vector<double>& state, const Adam& adam) {
  state.push_back(static_cast<double>(adam.steps));
  save_values(state, adam.first);
  save_values(state, adam.second);
}
inline void load_values(const std::vector<double>& state, std::size_t& offset, Adam& adam, at::IntArrayRef shape,
                        torch::Device device = torch::kCPU) {
  TESSERA_REQUIRE(offset < state.size(), "--run.resume: the checkpoint's search state is too short");
  adam.steps = static_cast<std::int64_t>(state[offset++]);
  adam.first = load_values(state, offset, shape, device);
  adam.second = load_values(state, offset, shape, device);
}

}  // namespace tessera::search
