// The learned eavesdropper (after DeepSniffer, ASPLOS 2020, which learns layer
// sequences from traces): a small LibTorch classifier that reads each device's
// features in one phase of a trace and names its layer, trained on traces with
// their truth (other seeds, other plans: what an adversary can serve and obfuscate
// itself) and applied to a trace it never saw. Devices it gives the same layer are
// one group; it infers the number of layers (at most the training traces' count).
// Features per device, each scaled to about [0, 1] within its trace so that traces of
// other sizes and speeds compare: when it first receives and first sends (in the
// pass's span; -1 when never), its hops from the input and from the output (over the
// deepest), the messages and bytes it receives and sends (log, over the trace's
// largest), how many devices it reaches (over the device count), and how many
// devices send to it and it sends to (log, over the largest). docs/DESIGN.md 9.3.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "streams/view.hpp"

namespace tessera::streams {

constexpr std::int64_t kLearnedFeatures = 13;

// [devices x kLearnedFeatures], row-major. `phase` says which end is the input.
std::vector<float> device_features(const ObservedStreams& seen, std::int64_t phase);

struct LearnedSettings {
  std::int64_t epochs = 300, hidden = 64;
  std::uint64_t seed = 1;
};

class LearnedEavesdropper {
 public:
  // Trains on `phase` of step 0 of every trace (each must have its truth; dummies,
  // true layer -1, are left out). Errors name a trace without truth.
  LearnedEavesdropper(const std::vector<trace::TraceFile>& traces, std::int64_t phase, const LearnedSettings& settings);
  ~LearnedEavesdropper();

  Division divide(const ObservedStreams& seen, std::int64_t phase) const;
  std::int64_t layers() const { return layers_; }
  double training_accuracy() const { return training_accuracy_; }
  std::int64_t training_devices() const { return training_devices_; }

 private:
  struct Model;
  std::unique_ptr<Model> model_;
  std::int64_t layers_ = 0, training_devices_ = 0;
  double training_accuracy_ = 0;
};

}  // namespace tessera::streams
