#include "mixnn/part.hpp"

#include <cstring>
#include <sstream>
#include <type_traits>

#include "core/error.hpp"
#include "mixnn/wire.hpp"

namespace tessera::mixnn {

namespace {
// A parameter's key in an optimizer's state: its TensorImpl's address, as text in
// LibTorch 1.x (Debian's) and as the pointer itself in 2.x (the CUDA build's).
template <class State>
auto state_key(const State&, const torch::Tensor& parameter) {
  if constexpr (std::is_same_v<typename State::key_type, std::string>) {
    std::ostringstream text;
    text << parameter.unsafeGetTensorImpl();
    return text.str();
  } else {
    return static_cast<typename State::key_type>(parameter.unsafeGetTensorImpl());
  }
}
}  // namespace

std::vector<PartPlan> plan_parts(const models::Network& network, int layers_per_part) {
  TESSERA_ASSERT(layers_per_part >= 1);
  const auto& steps = network.steps();
  std::vector<PartPlan> parts;
  int layers = 0;  // in the current part
  for (int i = 0; i < static_cast<int>(steps.size()); ++i) {
    if (parts.empty() || (steps[i].has_parameters && layers == layers_per_part)) {
      parts.push_back({"", i, i + 1, false});
      layers = 0;
    }
    parts.back().last = i + 1;
    if (steps[i].has_parameters) {
      parts.back().name += (layers ? "+" : "") + steps[i].name;
      ++layers;
    }
  }
  parts.back().loss = true;
  parts.back().name += "+nll";
  return parts;
}

std::vector<torch::Tensor> part_parameters(models::Network& network, const PartPlan& plan) {
  const auto& steps = network.steps();
  std::vector<torch::Tensor> parameters;
  for (const auto& named : network.named_parameters()) {
    for (int i = plan.first; i < plan.last; ++i)
      if (named.key().rfind(steps[i].name + ".", 0) == 0) parameters.push_back(named.value());
  }
  return parameters;
}

Part::Part(const std::string& arch, const PartPlan& plan, const train::Settings& settings,
           const models::Network* initial)
    : plan_(plan), network_(models::build(arch, 0)), parameters_(part_parameters(*network_, plan)) {
  if (initial) {
    torch::NoGradGuard no_grad;
    const auto source = initial->named_parameters();
    for (const auto& named : network_->named_parameters())
      if (source.contains(named.key())) named.value().copy_(source[named.key()]);
  }
  for (const auto& p : parameters_) parameter_count_ += static_cast<std::size_t>(p.numel());
  if (!parameters_.empty()) optimizer_ = std::make_unique<torch::optim::SGD>(train::make_optimizer(parameters_, settings));
}

torch::Tensor Part::apply(torch::Tensor x) const {
  const auto& steps = network_->steps();
  for (int i = plan_.first; i < plan_.last; ++i) x = steps[i].apply(x);
  return x;
}

torch::Tensor Part::train_forward(std::int64_t step, const torch::Tensor& input, const torch::Tensor& labels,
                                  bool input_gradient) {
  network_->train();
  Pending p;
  p.input = input_gradient ? input.detach().requires_grad_(true) : input.detach();
  auto out = apply(p.input);
  if (plan_.loss) {
    TESSERA_ASSERT(labels.defined() && labels.size(0) == out.size(0), "labels for step ", step);
    // The trainer's own loss: summed cross-entropy over the global batch size.
    auto sum = torch::nn::functional::cross_entropy(
        out, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    p.output = sum / static_cast<double>(labels.size(0));
    pending_[step] = p;
    return sum.detach().reshape({1});
  }
  p.output = out;
  pending_[step] = p;
  return out.detach();
}

torch::Tensor Part::train_backward(std::int64_t step, const torch::Tensor& grad) {
  auto found = pending_.find(step);
  TESSERA_ASSERT(found != pending_.end(), "no forward of step ", step);
  auto p = std::move(found->second);
  pending_.erase(found);
  if (optimizer_) optimizer_->zero_grad();
  if (plan_.loss)
    p.output.backward();
  else
    p.output.backward(grad.to(p.output.dtype()).reshape(p.output.sizes()));
  if (optimizer_) optimizer_->step();
  if (!p.input.requires_grad()) return {};
  auto g = p.input.grad();
  return g.defined() ? g.detach() : torch::zeros_like(p.input);
}

torch::Tensor Part::test_forward(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  network_->eval();
  auto out = apply(input);
  return plan_.loss ? torch::log_softmax(out, 1) : out;
}

std::vector<float> Part::state() const {
  std::vector<float> out;
  out.reserve(state_size());
  auto append = [&out](const torch::Tensor& t) {
    auto c = t.detach().contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  for (const auto& p : parameters_) append(p);
  for (const auto& p : parameters_) {
    torch::Tensor buffer;
    if (optimizer_) {
      auto found = optimizer_->state().find(state_key(optimizer_->state(), p));
      if (found != optimizer_->state().end())
        buffer = static_cast<torch::optim::SGDParamState&>(*found->second).momentum_buffer();
    }
    // No buffer yet acts as a zero one: SGD's first step sets it to the gradient,
    // which is what 0 * momentum + gradient gives.
    append(buffer.defined() ? buffer : torch::zeros_like(p));
  }
  return out;
}

void Part::set_state(const std::vector<float>& state) {
  TESSERA_ASSERT(state.size() == state_size(), "state of ", plan_.name, ": ", state.size(), " values, not ",
                 state_size());
  torch::NoGradGuard no_grad;
  std::size_t at = 0;
  for (auto& p : parameters_) {
    std::memcpy(p.data_ptr<float>(), state.data() + at, p.numel() * sizeof(float));
    at += p.numel();
  }
  for (auto& p : parameters_) {
    if (!optimizer_) break;
    auto buffer = torch::empty_like(p);
    std::memcpy(buffer.data_ptr<float>(), state.data() + at, p.numel() * sizeof(float));
    at += p.numel();
    auto s = std::make_unique<torch::optim::SGDParamState>();
    s->momentum_buffer(buffer);
    optimizer_->state()[state_key(optimizer_->state(), p)] = std::move(s);
  }
  pending_.clear();
}

void Part::set_learning_rate(double lr) {
  if (!optimizer_) return;
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

// The largest message a cascade carries: the activations (or gradients) at any cut
// between two parts the servers hold, the labels, or a small control message.
std::size_t largest_message(const std::string& arch, const std::vector<PartPlan>& plans, int first, int end,
                            std::int64_t batch) {
  torch::NoGradGuard no_grad;
  const auto& a = models::architecture(arch);
  auto network = models::build(arch, 0);
  network->eval();
  auto x = torch::zeros({1, a.channels, a.height, a.width});
  std::size_t largest = encoded_bytes(static_cast<std::size_t>(batch) * 8, 1, 0);
  const auto& steps = network->steps();
  for (int p = 0; p < static_cast<int>(plans.size()); ++p) {
    const std::size_t element = p == 0 ? 1 : 4;  // the first part gets the images as stored, bytes
    if (p >= first && p < end)  // a server's input
      largest = std::max(largest, encoded_bytes(static_cast<std::size_t>(batch * x.numel()) * element,
                                                       static_cast<int>(x.dim()), 0));
    for (int i = plans[p].first; i < plans[p].last; ++i) x = steps[i].apply(x);
    if (p >= first && p < end)  // its output
      largest = std::max(largest, encoded_bytes(static_cast<std::size_t>(batch * x.numel()) * 4,
                                                       static_cast<int>(x.dim()), 0));
  }
  return largest;
}

}  // namespace tessera::mixnn
