#include "models/metrics.hpp"

#include "core/error.hpp"

namespace tessera::models {

namespace {
// A plain loop rather than a tensor reduction: the order (image order) and so the
// bits do not depend on the thread count or the instruction set.
std::vector<double> per_candidate(const torch::Tensor& values, std::int64_t candidates) {
  const auto v = values.to(torch::kCPU).to(torch::kDouble).contiguous();  // from a GPU too
  const double* data = v.data_ptr<double>();
  const std::int64_t E = v.numel() / candidates;
  std::vector<double> sums(candidates, 0.0);
  for (std::int64_t p = 0; p < candidates; ++p)
    for (std::int64_t e = 0; e < E; ++e) sums[p] += data[p * E + e];
  return sums;
}
}  // namespace

Tallies tally(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& reference,
              std::int64_t candidates, bool with_loss) {
  torch::NoGradGuard no_grad;
  const auto E = labels.size(0);
  TESSERA_ASSERT(logits.dim() == 2 && logits.size(0) == candidates * E, "logits of ", candidates, " candidates x ", E,
                 " images");
  const auto predictions = logits.argmax(1).view({candidates, E});
  Tallies t;
  t.correct = per_candidate(predictions.eq(labels.view({1, E})), candidates);
  t.agree = reference.defined() ? per_candidate(predictions.eq(reference.view({1, E})), candidates)
                                : std::vector<double>(candidates, static_cast<double>(E));
  if (with_loss) {
    namespace F = torch::nn::functional;
    const auto targets = candidates == 1 ? labels : labels.repeat({candidates});
    t.loss = per_candidate(F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().reduction(torch::kNone)),
                           candidates);
  }
  return t;
}

double agreement(const torch::Tensor& a, const torch::Tensor& b) {
  return per_candidate(a.eq(b), 1)[0] / static_cast<double>(a.numel());
}

}  // namespace tessera::models
