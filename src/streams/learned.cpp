#include "streams/learned.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::streams {

namespace {

// Scales a per-device time into [0, 1] over the devices that have one; -1: never.
void add_times(std::vector<float>& f, std::int64_t column, const std::vector<double>& when) {
  double lo = kNeverSeen, hi = -kNeverSeen;
  for (auto t : when)
    if (t != kNeverSeen) lo = std::min(lo, t), hi = std::max(hi, t);
  const auto n = static_cast<std::int64_t>(when.size());
  for (std::int64_t v = 0; v < n; ++v)
    f[v * kLearnedFeatures + column] =
        when[v] == kNeverSeen ? -1.0f : hi > lo ? static_cast<float>((when[v] - lo) / (hi - lo)) : 0.0f;
}

template <class T>
void add_scaled(std::vector<float>& f, std::int64_t column, const std::vector<T>& values, bool logarithmic) {
  const auto n = static_cast<std::int64_t>(values.size());
  double top = 0;
  for (auto x : values) top = std::max(top, static_cast<double>(x));
  const auto scale = [&](double x) { return logarithmic ? std::log1p(std::max(0.0, x)) : x; };
  for (std::int64_t v = 0; v < n; ++v)
    f[v * kLearnedFeatures + column] =
        top > 0 ? static_cast<float>(scale(static_cast<double>(values[v])) / scale(top)) : 0.0f;
}

}  // namespace

std::vector<float> device_features(const ObservedStreams& seen, std::int64_t phase) {
  const auto n = seen.graph.vertices;
  TESSERA_REQUIRE(static_cast<std::int64_t>(seen.first_in.size()) == n &&
                      static_cast<std::int64_t>(seen.messages_in.size()) == n,
                  "streams: the learned eavesdropper reads times and sizes: it needs the timed or ordered view");
  std::vector<float> f(static_cast<std::size_t>(n * kLearnedFeatures), 0.0f);
  add_times(f, 0, seen.first_in);
  add_times(f, 1, seen.first_out);
  for (std::int64_t v = 0; v < n; ++v) {
    f[v * kLearnedFeatures + 2] = seen.first_in[v] == kNeverSeen ? 1.0f : 0.0f;
    f[v * kLearnedFeatures + 3] = seen.first_out[v] == kNeverSeen ? 1.0f : 0.0f;
  }
  // Hops from the input and from the output: -1 when not reached.
  const bool forward = phase == trace::kForward;
  const auto from_input = divide_by_depth(seen.graph, forward ? seen.entry : seen.exit, !forward).depth;
  const auto from_output = divide_by_depth(seen.graph, forward ? seen.exit : seen.entry, forward).depth;
  for (auto [column, depth] : {std::pair{4, &from_input}, std::pair{5, &from_output}}) {
    const auto deepest = std::max<std::int64_t>(1, *std::max_element(depth->begin(), depth->end()));
    for (std::int64_t v = 0; v < n; ++v)
      f[v * kLearnedFeatures + column] =
          (*depth)[v] < 0 ? -1.0f : static_cast<float>((*depth)[v]) / static_cast<float>(deepest);
  }
  add_scaled(f, 6, seen.messages_in, true);
  add_scaled(f, 7, seen.messages_out, true);
  add_scaled(f, 8, seen.bytes_in, true);
  add_scaled(f, 9, seen.bytes_out, true);
  auto reach = reachable_counts(seen.graph);
  for (std::int64_t v = 0; v < n; ++v)
    f[v * kLearnedFeatures + 10] = static_cast<float>(reach[v]) / static_cast<float>(std::max<std::int64_t>(1, n));
  const auto neighbours = distinct_neighbours(seen.graph);
  std::vector<std::int64_t> in(n), out(n);
  for (std::int64_t v = 0; v < n; ++v) {
    in[v] = static_cast<std::int64_t>(neighbours.senders[v].size());
    out[v] = static_cast<std::int64_t>(neighbours.receivers[v].size());
  }
  add_scaled(f, 11, in, true);
  add_scaled(f, 12, out, true);
  return f;
}

struct LearnedEavesdropper::Model : torch::nn::Module {
  Model(std::int64_t hidden, std::int64_t layers)
      : first(register_module("first", torch::nn::Linear(kLearnedFeatures, hidden))),
        second(register_module("second", torch::nn::Linear(hidden, hidden))),
        out(register_module("out", torch::nn::Linear(hidden, layers))) {}
  torch::Tensor forward(const torch::Tensor& x) { return out(torch::relu(second(torch::relu(first(x))))); }
  torch::nn::Linear first, second, out;
};

LearnedEavesdropper::LearnedEavesdropper(const std::vector<trace::TraceFile>& traces, std::int64_t phase,
                                         const LearnedSettings& settings) {
  TESSERA_REQUIRE(!traces.empty(), "streams: the learned eavesdropper needs at least one training trace");
  TESSERA_REQUIRE(settings.epochs >= 1 && settings.hidden >= 1, "streams: the learned eavesdropper's epochs and "
                  "hidden width must be >= 1");
  std::vector<float> features;
  std::vector<std::int64_t> labels;
  for (const auto& file : traces) {
    TESSERA_REQUIRE(file.device_layer, "'", file.path,
                    "' has no /trace/truth/device_layer: a training trace must say each device's layer");
    const auto seen = observe(file, 0, phase, file.events.timed() ? View::timed : View::ordered);
    const auto f = device_features(seen, phase);
    for (std::int64_t v = 0; v < file.devices; ++v) {
      const auto layer = (*file.device_layer)[v];
      if (layer < 0) continue;  // a dummy
      features.insert(features.end(), f.begin() + v * kLearnedFeatures, f.begin() + (v + 1) * kLearnedFeatures);
      labels.push_back(layer);
      layers_ = std::max(layers_, layer + 1);
    }
  }
  training_devices_ = static_cast<std::int64_t>(labels.size());
  torch::manual_seed(derive_seed(settings.seed, "learned-eavesdropper"));
  model_ = std::make_unique<Model>(settings.hidden, layers_);
  const auto x = torch::from_blob(features.data(), {training_devices_, kLearnedFeatures}, torch::kFloat32).clone();
  const auto y = torch::from_blob(labels.data(), {training_devices_}, torch::kInt64).clone();
  // Every layer weighs the same: a layer of one device matters to the division as much
  // as one of thousands.
  auto counts = torch::bincount(y, {}, layers_).to(torch::kFloat32);
  auto weights = torch::where(counts > 0, 1.0 / counts.clamp_min(1), torch::zeros_like(counts));
  weights = weights / weights.sum() * static_cast<double>((counts > 0).sum().item<std::int64_t>());
  torch::optim::Adam optimiser(model_->parameters(), torch::optim::AdamOptions(1e-2));
  for (std::int64_t epoch = 0; epoch < settings.epochs; ++epoch) {
    optimiser.zero_grad();
    const auto loss = torch::nn::functional::cross_entropy(
        model_->forward(x), y, torch::nn::functional::CrossEntropyFuncOptions().weight(weights));
    loss.backward();
    optimiser.step();
  }
  torch::NoGradGuard no_grad;
  training_accuracy_ = model_->forward(x).argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
}

LearnedEavesdropper::~LearnedEavesdropper() = default;

Division LearnedEavesdropper::divide(const ObservedStreams& seen, std::int64_t phase) const {
  auto features = device_features(seen, phase);
  const auto n = seen.graph.vertices;
  torch::NoGradGuard no_grad;
  const auto x = torch::from_blob(features.data(), {n, kLearnedFeatures}, torch::kFloat32);
  const auto predicted = model_->forward(x).argmax(1).contiguous();
  Division division;
  division.group.assign(predicted.data_ptr<std::int64_t>(), predicted.data_ptr<std::int64_t>() + n);
  // The layers it names, numbered 0, 1, ... in their order.
  std::vector<std::int64_t> size(layers_, 0), number(layers_, -1);
  for (auto g : division.group) ++size[g];
  for (std::int64_t l = 0; l < layers_; ++l)
    if (size[l] > 0) number[l] = division.groups++;
  for (std::int64_t v = 0; v < n; ++v) {
    if (size[division.group[v]] == 1) division.pivots.push_back(v);
    division.group[v] = number[division.group[v]];
  }
  return division;
}

}  // namespace tessera::streams
