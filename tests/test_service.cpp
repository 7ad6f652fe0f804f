// The served model equals the monolithic one: logits, input and weight
// gradients, and 20 training steps, on any number of ranks (run under mpiexec
// with 1 to 4 ranks), one or several blocks per device, ragged blocks.
#include <gtest/gtest.h>

#include "comm/communicator.hpp"
#include "core/ranks.hpp"
#include "service/runner.hpp"

using namespace tessera;

namespace {

// Real images and labels: the first training images of Fashion-MNIST.
const data::Split& images() {
  static const data::Split split = data::load("fashion-mnist", "", 512, 1).train;
  return split;
}

blocks::Settings ragged(std::int64_t per_device) {
  blocks::Settings options;
  options.bh = options.bw = 100;  // 1024 x 6272 in 11 x 63 blocks, the last ones ragged
  options.per_device = per_device;
  options.seed = 5;
  return options;
}

double max_difference(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  double worst = 0;
  for (const auto& [name, t] : a) worst = std::max(worst, (t - b.at(name)).abs().max().item<double>());
  return worst;
}

// A batch smaller than the ranks leaves some ranks an empty slice: they still take
// part in every collective with the same counts (a slice of no rows has rows of the
// same width), and the result is the whole batch on every rank.
TEST(Communicator, GathersAndScattersAroundEmptySlices) {
  auto comm = comm::make_mpi_communicator(MPI_COMM_WORLD);
  std::vector<std::int64_t> lengths(comm->size(), 0);
  lengths[0] = 1;  // one row, on rank 0 only
  const auto mine = torch::full({lengths[comm->rank()], 3, 2}, 7.0f);
  const auto whole = comm->all_gather(mine, lengths);
  ASSERT_EQ(whole.sizes().vec(), (std::vector<std::int64_t>{1, 3, 2}));
  EXPECT_TRUE(whole.eq(7.0f).all().item<bool>());
  const auto part = comm->reduce_scatter_sum(torch::ones({1, 3, 2}), lengths);
  ASSERT_EQ(part.size(0), lengths[comm->rank()]);
  if (comm->rank() == 0) EXPECT_TRUE(part.eq(static_cast<float>(comm->size())).all().item<bool>());
}

class ServiceEquivalence : public ::testing::TestWithParam<std::int64_t> {};

TEST_P(ServiceEquivalence, LogitsAndGradientsEqualMonolithic) {
  auto comm = comm::make_mpi_communicator(MPI_COMM_WORLD);
  auto network = models::build("vgg-mini", 2);
  auto reference = service::clone(*network, "vgg-mini");
  auto targets = blocks::plan(*network, ragged(GetParam()), comm->size());
  service::Service served(network, targets, *comm, 5);
  served.train(false);
  reference->eval();

  const std::int64_t batch = 37;  // uneven over 2, 3 and 4 ranks
  const auto lengths = service::batch_split(batch, *comm);
  const auto offset = service::offset_of(lengths, comm->rank());
  auto all = images().images.narrow(0, 0, batch).clone().set_requires_grad(true);
  auto mine = images().images.narrow(0, offset, lengths[comm->rank()]).clone().set_requires_grad(true);
  auto labels = images().labels.narrow(0, 0, batch);

  auto logits = served.forward(mine, {lengths});
  auto expected = reference->forward(all);
  EXPECT_LT((logits - expected.narrow(0, offset, lengths[comm->rank()])).abs().max().item<double>(), 1e-5);

  namespace F = torch::nn::functional;
  auto sum = F::CrossEntropyFuncOptions().reduction(torch::kSum);
  (F::cross_entropy(logits, labels.narrow(0, offset, lengths[comm->rank()]), sum) / batch).backward();
  served.sum_replicated_gradients();
  (F::cross_entropy(expected, labels, sum) / batch).backward();

  EXPECT_LT((mine.grad() - all.grad().narrow(0, offset, lengths[comm->rank()])).abs().max().item<double>(), 1e-5);
  std::map<std::string, torch::Tensor> expected_grads;
  for (const auto& item : reference->named_parameters()) expected_grads[item.key()] = item.value().grad();
  auto grads = served.assembled_parameters(/*gradients=*/true);
  ASSERT_EQ(grads.size(), expected_grads.size());
  EXPECT_LT(max_difference(grads, expected_grads), 1e-5);
  EXPECT_GT(grads.at("classifier.0.weight").abs().max().item<double>(), 1e-4);  // not trivially zero
}

TEST_P(ServiceEquivalence, TwentyTrainingStepsMatchMonolithicTraining) {
  auto comm = comm::make_mpi_communicator(MPI_COMM_WORLD);
  auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
  auto network = models::build("vgg-mini", 3);
  auto reference = service::clone(*network, "vgg-mini");
  auto options = ragged(GetParam());
  options.layers = {"classifier.0", "classifier.3"};  // two sharded layers in a row
  service::Service served(network, blocks::plan(*network, options, comm->size()), *comm, 5);
  service::Service monolithic(reference, {}, *self, 5);
  service::TrainSettings settings;
  settings.steps = 20;
  settings.batch = 24;
  settings.lr = 0.02;
  auto losses = service::train_steps(served, images(), settings, false);
  auto expected = service::train_steps(monolithic, images(), settings, false);
  EXPECT_LT(max_difference(served.assembled_parameters(), monolithic.assembled_parameters()), 1e-4);
  EXPECT_NEAR(losses.back(), expected.back(), 1e-4);
  EXPECT_LT(losses.back(), losses.front());  // it trained (dropout on, seeded masks)
}

INSTANTIATE_TEST_SUITE_P(BlocksPerDevice, ServiceEquivalence, ::testing::Values(1, 4));

TEST(Service, PlanErrorsNameTheOption) {
  auto network = models::build("vgg-mini", 1);
  auto error = [&](blocks::Settings options, int ranks) {
    try {
      blocks::plan(*network, options, ranks);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  blocks::Settings options;
  options.layers = {"classifier.9"};
  EXPECT_NE(error(options, 1).find("--blocks.layers: the model has no layer 'classifier.9'"), std::string::npos);
  options.layers = {"features.0"};
  EXPECT_NE(error(options, 1).find("is not a Linear layer"), std::string::npos);
  options.layers = {};
  options.bh = options.bw = 1024;
  options.bw = 6272;
  EXPECT_NE(error(options, 2).find("more service ranks (2) than devices (1)"), std::string::npos);
}

TEST(Service, RanksHoldOnlyTheirBlocks) {
  auto comm = comm::make_mpi_communicator(MPI_COMM_WORLD);
  auto network = models::build("vgg-mini", 2);
  blocks::Settings options;
  auto targets = blocks::plan(*network, options, comm->size());
  service::Service served(network, targets, *comm, 1);
  std::int64_t held = 0;
  for (const auto& p : served.parameters()) held += p.numel();
  const std::int64_t replicated = 6272 * 0 + 1024 + 1024 * 1024 + 1024 + 10 * 1024 + 10 + 32 * 9 + 32 +
                                  64 * 32 * 9 + 64 + 128 * 64 * 9 + 128;
  const std::int64_t blocks = 1024 * 6272;
  EXPECT_NEAR(static_cast<double>(held - replicated), static_cast<double>(blocks) / comm->size(), 64 * 64 * 1.0);
}

}  // namespace
