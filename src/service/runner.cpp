#include "service/runner.hpp"

#include "core/log.hpp"
#include "core/stop.hpp"

namespace tessera::service {

namespace {
// Collective, once per step: a signal to any rank (core/stop.hpp) stops them all here.
void stop_if_signalled(Service& service, const char* what, std::int64_t done, std::int64_t total) {
  if (const int signal = stop::agreed(service.communicator().mpi()))
    throw stop::Stopped(stop::signal_name(signal) + " received after " + std::to_string(done) + " of " +
                        std::to_string(total) + " " + what + "; no file written");
}

std::int64_t my_offset(const Service& service, const std::vector<std::int64_t>& lengths) {
  return offset_of(lengths, service.communicator().rank());
}
}  // namespace

InferenceReport infer(Service& service, models::Network* reference, const data::Split& split, std::int64_t batch,
                      bool progress) {
  torch::NoGradGuard no_grad;
  auto& comm = service.communicator();
  service.train(false);
  if (reference) reference->eval();
  InferenceReport report;
  report.images = split.size();
  double sums[2] = {0, 0};  // correct (served), correct (monolithic)
  double maxima[2] = {0, 0};
  const auto chunks = (split.size() + batch - 1) / batch;
  log::Progress clock("serve infer", chunks);
  for (std::int64_t begin = 0; begin < split.size(); begin += batch) {
    const auto count = std::min(batch, split.size() - begin);
    const auto lengths = batch_split(count, comm);
    const auto offset = begin + my_offset(service, lengths);
    const auto images = split.images.narrow(0, offset, lengths[comm.rank()]);
    const auto labels = split.labels.narrow(0, offset, lengths[comm.rank()]);
    auto logits = service.forward(images, {lengths}).to(torch::kCPU);
    if (auto* cover = service.cover()) cover->exchange(comm.mpi(), 0);
    sums[0] += logits.argmax(1).eq(labels).sum().item<double>();
    if (reference && images.size(0) > 0) {
      auto expected = reference->forward(images);
      sums[1] += expected.argmax(1).eq(labels).sum().item<double>();
      maxima[0] = std::max(maxima[0], (logits - expected).abs().max().item<double>());
      maxima[1] = std::max(maxima[1], expected.abs().max().item<double>());
    }
    if (progress) clock.advance();
    stop_if_signalled(service, "batches", begin / batch + 1, chunks);
  }
  MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm.mpi());
  MPI_Allreduce(MPI_IN_PLACE, maxima, 2, MPI_DOUBLE, MPI_MAX, comm.mpi());
  const double n = std::max<double>(1, split.size());
  report.accuracy = sums[0] / n;
  report.reference_accuracy = sums[1] / n;
  report.max_logit_diff = maxima[0];
  report.max_logit = maxima[1];
  report.seconds = clock.elapsed();
  return report;
}

torch::optim::SGD make_optimizer(const Service& service, const TrainSettings& settings) {
  return torch::optim::SGD(service.parameters(), torch::optim::SGDOptions(settings.lr)
                                                     .momentum(settings.momentum)
                                                     .weight_decay(settings.weight_decay));
}

double train_step(Service& service, torch::optim::SGD& optimizer, const data::Split& split,
                  const torch::Tensor& indices, std::int64_t step) {
  auto& comm = service.communicator();
  service.train(true);
  const auto lengths = batch_split(indices.size(0), comm);
  const auto mine = indices.narrow(0, my_offset(service, lengths), lengths[comm.rank()]);
  optimizer.zero_grad();
  auto logits = service.forward(split.images.index_select(0, mine), {lengths, true, step});
  if (auto* cover = service.cover()) cover->exchange(comm.mpi(), 0);
  auto labels = split.labels.index_select(0, mine).to(logits.device());
  // Summed over the slice, divided by the whole batch: the ranks' gradients then
  // add up to the gradient of the batch mean.
  auto loss = torch::nn::functional::cross_entropy(
      logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  double total = loss.item<double>();
  (loss / static_cast<double>(indices.size(0))).backward();
  if (auto* cover = service.cover()) cover->exchange(comm.mpi(), 1);
  service.sum_replicated_gradients();
  optimizer.step();
  MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_DOUBLE, MPI_SUM, comm.mpi());
  return total / static_cast<double>(indices.size(0));
}

std::vector<double> train_steps(Service& service, const data::Split& split, const TrainSettings& settings,
                                bool progress) {
  auto optimizer = make_optimizer(service, settings);
  const auto order = data::epoch_order(split.size(), settings.seed, 0);
  std::vector<double> losses;
  log::Progress clock("serve train", settings.steps);
  for (std::int64_t s = 0; s < settings.steps; ++s) {
    auto positions = torch::arange(s * settings.batch, (s + 1) * settings.batch) % split.size();
    losses.push_back(train_step(service, optimizer, split, order.index_select(0, positions), s));
    if (progress) clock.advance(1, "loss " + std::to_string(losses.back()));
    stop_if_signalled(service, "training steps", s + 1, settings.steps);
  }
  return losses;
}

std::shared_ptr<models::Network> clone(const models::Network& network, const std::string& arch) {
  auto copy = models::build(arch, 0);
  torch::NoGradGuard no_grad;
  auto source = network.named_parameters();
  for (auto& item : copy->named_parameters()) item.value().copy_(source[item.key()]);
  return copy;
}

}  // namespace tessera::service
