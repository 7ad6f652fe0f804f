#include "train/trainer.hpp"

#include <cmath>

#include <algorithm>

#include "core/ranks.hpp"
#include "core/log.hpp"

namespace tessera::train {

void check(const Settings& s) {
  TESSERA_REQUIRE(s.epochs >= 1, "--train.epochs: must be >= 1, got ", s.epochs);
  TESSERA_REQUIRE(s.batch >= 1, "--train.batch: must be >= 1, got ", s.batch);
  TESSERA_REQUIRE(std::isfinite(s.lr) && s.lr > 0, "--train.lr: must be a finite number > 0, got ", s.lr);
  TESSERA_REQUIRE(s.momentum >= 0 && s.momentum < 1, "--train.momentum: must be in [0, 1), got ", s.momentum);
  TESSERA_REQUIRE(std::isfinite(s.weight_decay) && s.weight_decay >= 0,
                  "--train.weight_decay: must be a finite number >= 0, got ", s.weight_decay);
  TESSERA_REQUIRE(s.lr_step >= 0, "--train.lr_step: must be >= 0, got ", s.lr_step);
  TESSERA_REQUIRE(std::isfinite(s.lr_gamma) && s.lr_gamma > 0, "--train.lr_gamma: must be a finite number > 0, got ",
                  s.lr_gamma);
}

void check_training_options(const Config& config) { check(read_training_settings(config)); }

Settings training_settings(const Config& config) {
  auto s = read_training_settings(config);
  check(s);
  return s;
}

Settings read_training_settings(const Config& config) {
  Settings s;
  s.epochs = config.get<int>("train.epochs");
  s.batch = config.get<int>("train.batch");
  s.lr = config.get<double>("train.lr");
  s.momentum = config.get<double>("train.momentum");
  s.weight_decay = config.get<double>("train.weight_decay");
  s.lr_step = config.get<int>("train.lr_step");
  s.lr_gamma = config.get<double>("train.lr_gamma");
  s.seed = config.get<std::uint64_t>("run.seed");
  return s;
}

namespace {

// Sums the gradients of `parameters` over the ranks in one flat buffer (one
// collective per step).
void sum_gradients(const std::vector<torch::Tensor>& parameters, MPI_Comm comm) {
  if (size_of(comm) == 1) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters) grads.push_back(p.grad().view(-1));
  auto flat = torch::cat(grads).to(torch::kCPU);  // MPI reads host memory (a no-op on the CPU)
  MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr<float>(), static_cast<int>(flat.numel()), MPI_FLOAT,
                MPI_SUM, comm);
  std::int64_t offset = 0;
  for (const auto& p : parameters) {
    auto n = p.numel();
    p.mutable_grad().view(-1).copy_(flat.narrow(0, offset, n));
    offset += n;
  }
}

// The parameters `optimizer` steps, in its order (the same on every rank).
std::vector<torch::Tensor> trained_parameters(torch::optim::SGD& optimizer) {
  std::vector<torch::Tensor> parameters;
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) parameters.push_back(p);
  return parameters;
}

}  // namespace

torch::optim::SGD make_optimizer(models::Network& network, const Settings& settings) {
  return make_optimizer(network.parameters(), settings);
}

torch::optim::SGD make_optimizer(const std::vector<torch::Tensor>& parameters, const Settings& settings) {
  return torch::optim::SGD(parameters, torch::optim::SGDOptions(settings.lr)
                                           .momentum(settings.momentum)
                                           .weight_decay(settings.weight_decay));
}

void set_epoch_learning_rate(torch::optim::SGD& optimizer, const Settings& settings, int epoch) {
  double lr = settings.lr;
  if (settings.lr_step > 0)
    for (int e = settings.lr_step; e <= epoch; e += settings.lr_step) lr *= settings.lr_gamma;
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

double run_epoch(models::Network& network, torch::optim::SGD& optimizer, const data::Split& split,
                 const torch::Tensor& order, std::int64_t batch, MPI_Comm comm,
                 const char* progress_label) {
  const std::int64_t n = order.size(0);
  const std::int64_t steps = (n + batch - 1) / batch;
  std::unique_ptr<log::Progress> progress;
  if (progress_label) progress = std::make_unique<log::Progress>(progress_label, steps);
  const double loss_sum = run_steps(network, optimizer, split, order, batch, 0, steps, comm, {}, progress.get());
  return n ? loss_sum / n : 0.0;
}

double run_steps(models::Network& network, torch::optim::SGD& optimizer, const data::Split& split,
                 const torch::Tensor& order, std::int64_t batch, std::int64_t first_step, std::int64_t last_step,
                 MPI_Comm comm, const std::function<void()>& after_step, log::Progress* progress) {
  network.train();
  const auto parameters = trained_parameters(optimizer);
  const std::int64_t n = order.size(0);
  // Each step's loss stays where it was computed until the end: reading it on the
  // host every step would make a GPU wait for each step before queuing the next.
  std::vector<torch::Tensor> losses;
  for (std::int64_t step = first_step; step < last_step; ++step) {
    const std::int64_t begin = step * batch, count = std::min(batch, n - begin);
    auto [first, last] = my_share(count, comm);
    optimizer.zero_grad();
    if (last > first) {
      auto index = order.narrow(0, begin + first, last - first);
      auto logits = network.forward(split.images.index_select(0, index));
      // Summed over the slice, divided by the global batch: the ranks' gradient
      // sum is then the gradient of the batch mean.
      auto loss = torch::nn::functional::cross_entropy(
          logits, split.labels.index_select(0, index),
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      losses.push_back(loss.detach());
      (loss / static_cast<double>(count)).backward();
    } else {
      for (const auto& p : parameters) p.mutable_grad() = torch::zeros_like(p);
    }
    sum_gradients(parameters, comm);
    optimizer.step();
    if (after_step) after_step();
    if (progress) progress->advance(1);
  }
  double loss_sum = 0;  // summed over this rank's images, in step order (float32 losses are exact in double)
  if (!losses.empty()) {
    const auto values = torch::stack(losses).to(torch::kCPU, torch::kDouble).contiguous();
    for (std::int64_t i = 0; i < values.numel(); ++i) loss_sum += values.data_ptr<double>()[i];
  }
  MPI_Allreduce(MPI_IN_PLACE, &loss_sum, 1, MPI_DOUBLE, MPI_SUM, comm);
  return loss_sum;
}

SplitScore evaluate(models::Network& network, const data::Split& split, MPI_Comm comm,
                    std::int64_t batch, const torch::Tensor& reference) {
  torch::NoGradGuard no_grad;
  network.eval();
  auto [first, last] = my_share(split.size(), comm);
  double sums[3] = {0, 0, 0};  // correct, loss, agreeing with the reference
  for (std::int64_t begin = first; begin < last; begin += batch) {
    const auto count = std::min(batch, last - begin);
    auto logits = network.forward(split.images.narrow(0, begin, count));
    auto labels = split.labels.narrow(0, begin, count);
    const auto answers = logits.argmax(1);
    sums[0] += answers.eq(labels).sum().item<double>();
    if (reference.defined()) sums[2] += answers.eq(reference.narrow(0, begin, count)).sum().item<double>();
    sums[1] += torch::nn::functional::cross_entropy(
                   logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .item<double>();
  }
  MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_DOUBLE, MPI_SUM, comm);
  const double n = static_cast<double>(std::max<std::int64_t>(1, split.size()));
  return {sums[0] / n, sums[1] / n, sums[2] / n};
}

std::vector<EpochRecord> fit(models::Network& network, const data::Dataset& data,
                             const Settings& settings, MPI_Comm comm) {
  auto optimizer = make_optimizer(network, settings);
  std::vector<EpochRecord> records;
  for (int epoch = 0; epoch < settings.epochs; ++epoch) {
    set_epoch_learning_rate(optimizer, settings, epoch);

    const std::string label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(settings.epochs);
    log::Progress clock(label, 1);
    EpochRecord record;
    record.epoch = epoch + 1;
    record.train_loss = run_epoch(network, optimizer, data.train,
                                  data::epoch_order(data.train.size(), settings.seed, epoch),
                                  settings.batch, comm, label.c_str());
    agree(comm, [&] {  // the loss is summed over the ranks: all of them see the same
      TESSERA_REQUIRE(std::isfinite(record.train_loss), "training diverged in ", label, " (train loss ",
                      record.train_loss, "): lower --train.lr");
    });
    record.test = evaluate(network, data.test, comm);
    record.seconds = clock.elapsed();
    log::info(label, ": train loss ", record.train_loss, ", test accuracy ", record.test.accuracy,
              ", test loss ", record.test.loss, ", ", log::seconds_text(record.seconds));
    records.push_back(record);
  }
  return records;
}

}  // namespace tessera::train
