#include "train/finetune.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "core/stop.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"

namespace tessera::train {

std::vector<double> step_macs(models::Network& network, const torch::Tensor& sample) {
  torch::NoGradGuard no_grad;
  const bool was_training = network.is_training();
  network.eval();
  const auto parameters = network.named_parameters();
  std::vector<double> macs;
  auto x = sample;
  for (const auto& step : network.steps()) {
    x = step.apply(x);
    if (!step.has_parameters) continue;
    const auto& weight = parameters[step.name + ".weight"];
    // Every weight takes part once per output position: out*in for a Linear,
    // out*in*kh*kw per output pixel for a convolution.
    macs.push_back(static_cast<double>(weight.numel()) * static_cast<double>(x.numel() / weight.size(0)));
  }
  network.train(was_training);
  return macs;
}

double training_flops_per_image(const std::vector<double>& macs, const std::vector<bool>& trained) {
  TESSERA_ASSERT(macs.size() == trained.size());
  double flops = 0;
  bool gradient_flows = false;  // a trained layer lies before this one
  for (std::size_t i = 0; i < macs.size(); ++i) {
    flops += 2 * macs[i];                     // forward
    if (trained[i]) flops += 2 * macs[i];     // dL/dW
    if (gradient_flows) flops += 2 * macs[i];  // dL/dx, needed by a trained layer before
    gradient_flows = gradient_flows || trained[i];
  }
  return flops;
}

std::vector<Point> run_arm(Arm& arm, const data::Split& public_split, const data::Split& test,
                           const torch::Tensor& victim_answers, const Schedule& schedule, MPI_Comm comm,
                           int* stopped_by) {
  const auto& settings = schedule.train;
  auto optimizer = make_optimizer(arm.trained, settings);
  const std::int64_t images = public_split.size();
  const std::int64_t steps = (images + settings.batch - 1) / settings.batch;
  const int evals = static_cast<int>(std::min<std::int64_t>(schedule.evals_per_epoch, steps));

  std::vector<Point> points;
  Point point;
  point.test = evaluate(*arm.network, test, comm, 1000, victim_answers);
  points.push_back(point);
  log::Progress progress(arm.name, settings.epochs * steps);
  for (int epoch = 0; epoch < settings.epochs; ++epoch) {
    set_epoch_learning_rate(optimizer, settings, epoch);
    const auto order = data::epoch_order(images, settings.seed, epoch);
    for (int e = 1; e <= evals; ++e) {
      // Evaluation points split the epoch's steps as evenly as whole steps allow.
      const std::int64_t first = steps * (e - 1) / evals, last = steps * e / evals;
      const auto start = std::chrono::steady_clock::now();
      const double loss_sum =
          run_steps(*arm.network, optimizer, public_split, order, settings.batch, first, last, comm, arm.after_step,
                    &progress);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const std::int64_t seen = std::min(images, last * settings.batch) - std::min(images, first * settings.batch);
      point.epoch = epoch + static_cast<double>(e) / evals;
      point.samples += seen;
      point.flops = static_cast<double>(point.samples) * arm.flops_per_image;
      point.seconds += seconds;
      point.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
      agree(comm, [&] {  // the loss is summed over the ranks: all of them see the same
        TESSERA_REQUIRE(std::isfinite(point.train_loss), arm.name, ": training diverged in epoch ", epoch + 1,
                        " (train loss ", point.train_loss, "): lower --train.lr");
      });
      point.test = evaluate(*arm.network, test, comm, 1000, victim_answers);
      points.push_back(point);
      const bool more = e < evals || epoch + 1 < settings.epochs;
      if (const int signal = more ? stop::agreed(comm) : 0) {  // the caller records what was done and stops
        if (stopped_by) *stopped_by = signal;
        return points;
      }
    }
    log::info(arm.name, ": epoch ", epoch + 1, "/", settings.epochs, ": test accuracy ", point.test.accuracy,
              ", fidelity ", point.test.agreement, ", ", point.samples, " samples, ",
              log::seconds_text(point.seconds));
  }
  return points;
}

Cost cost_to_reach(const std::vector<Point>& points, double level) {
  for (const auto& p : points)
    if (p.test.accuracy >= level) return {static_cast<double>(p.samples), p.flops, p.seconds};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, nan, nan};
}

}  // namespace tessera::train
