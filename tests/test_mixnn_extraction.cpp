// The attack on MixNN's Theorem 1 without the network: a victim mlp7 trained briefly
// on Fashion-MNIST, what its servers of parts 2, 4 and 6 compute in a test phase
// (their Part's test_forward on the victim's state), and the reconstruction from
// that alone. The honest parts 3 and 5 are solved (the data are exact, so least
// squares finds the victim's weights up to round-off), parts 1 and 7 are learned,
// the adversary's own parts never change, and the assessment measures all of it
// against the victim.
#include <gtest/gtest.h>

#include <iostream>

#include "data/datasets.hpp"
#include "mixnn/extraction.hpp"

using namespace tessera;
using namespace tessera::mixnn;

namespace {

struct Victim {
  std::vector<PartPlan> plans;
  std::vector<std::vector<float>> states;  // by part
};

// Trained well past the start, where a deep MLP's units are still mostly silent.
Victim trained_victim(const data::Dataset& data, const train::Settings& settings) {
  auto network = models::build("mlp7", 11);
  auto faster = settings;
  faster.lr = 0.05;
  auto optimizer = train::make_optimizer(*network, faster);
  for (int epoch = 0; epoch < 4; ++epoch)
    train::run_epoch(*network, optimizer, data.train, data::epoch_order(data.train.size(), 11, epoch),
                     settings.batch, MPI_COMM_SELF);
  Victim v;
  v.plans = plan_parts(*network, 1);
  for (const auto& plan : v.plans) v.states.push_back(Part("mlp7", plan, settings, network.get()).state());
  return v;
}

// What the servers of `parts` record in a test phase of `images` in batches of 64.
std::vector<Observations> test_phase(const Victim& v, const std::vector<int>& parts, const torch::Tensor& images,
                                     const train::Settings& settings) {
  std::vector<std::unique_ptr<Part>> servers;
  for (std::size_t p = 0; p < v.plans.size(); ++p) {
    servers.push_back(std::make_unique<Part>("mlp7", v.plans[p], settings));
    servers.back()->set_state(v.states[p]);
  }
  std::vector<Observations> seen(parts.size());
  for (std::size_t a = 0; a < parts.size(); ++a) seen[a] = {parts[a], 0, v.states[parts[a]], {}};
  for (std::int64_t b = 0; b * 64 < images.size(0); ++b) {
    auto x = images.narrow(0, b * 64, std::min<std::int64_t>(64, images.size(0) - b * 64));
    for (std::size_t p = 0; p < servers.size(); ++p) {
      auto y = servers[p]->test_forward(x);
      for (std::size_t a = 0; a < parts.size(); ++a)
        if (parts[a] == static_cast<int>(p)) seen[a].test[-1000 - b] = {x, y};
      x = y;
    }
  }
  return seen;
}

}  // namespace

TEST(MixnnExtraction, SolvesTheHonestMiddleLayersFromWhatTheAdversarySaw) {
  const auto data = data::load("fashion-mnist", "", 4000, 4000);
  train::Settings settings;
  settings.epochs = 1;
  settings.batch = 64;
  settings.lr = 0.01;
  settings.momentum = 0.9;
  settings.weight_decay = 0;
  const auto victim = trained_victim(data, settings);
  ASSERT_EQ(victim.plans.size(), 7u);
  const auto observed = test_phase(victim, {1, 3, 5}, data.test.images, settings);

  ExtractionSettings extraction;
  extraction.settings = settings;
  const data::Split public_data{data.train.images.narrow(0, 0, 500), data.train.labels.narrow(0, 0, 500)};
  const auto report = assess(reconstruct("mlp7", victim.plans, observed, public_data, extraction), "mlp7",
                             victim.plans, victim.states, data.test);
  const auto& r = report.reconstruction;
  EXPECT_EQ(r.own, (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(r.solved, (std::vector<int>{2, 4}));
  EXPECT_EQ(r.learned, (std::vector<int>{0, 6}));
  ASSERT_EQ(r.layers.size(), 2u);
  for (const auto& layer : r.layers) {
    SCOPED_TRACE("part " + std::to_string(layer.part + 1));
    EXPECT_EQ(layer.fit_rows + layer.held_out_rows, 4000);
    EXPECT_LE(layer.determined + layer.dead, layer.units);
    // Exact observations (but float32, and inputs the adversary never saw active):
    // held-out errors measured 0.005 and 0.017; a layer of fresh weights is off by ~1.
    EXPECT_LT(layer.held_out_error, 0.1);
    EXPECT_GT(layer.determined, layer.units / 2);
    EXPECT_LE(layer.determined_weight_error, layer.weight_error + 1e-12);
  }
  // Parts 2 to 6 of the adversary's model compute the victim's parts 2 to 6.
  EXPECT_EQ(report.middle_first, 1);
  EXPECT_EQ(report.middle_last, 5);
  EXPECT_LT(report.middle_error, 0.05);  // measured 0.004
  // The adversary's own parts are the victim's, bit for bit, in every model it builds
  // on them; the baseline learned everything.
  auto own_parameters = [&](models::Network& network, int part) {
    return torch::cat([&] {
      std::vector<torch::Tensor> flat;
      for (auto& t : part_parameters(network, victim.plans[part])) flat.push_back(t.detach().flatten());
      return flat;
    }());
  };
  for (int part : r.own) {
    const auto truth = torch::from_blob(const_cast<float*>(victim.states[part].data()),
                                        {own_parameters(*r.learned_model, part).numel()});
    EXPECT_TRUE(torch::equal(own_parameters(*r.learned_model, part), truth)) << "part " << part + 1;
    EXPECT_TRUE(torch::equal(own_parameters(*r.fine_tuned_model, part), truth)) << "part " << part + 1;
    EXPECT_FALSE(torch::equal(own_parameters(*r.public_model, part), truth)) << "part " << part + 1;
  }
  for (const auto* score : {&report.learned, &report.fine_tuned, &report.public_only}) {
    EXPECT_GE(score->accuracy, 0);
    EXPECT_LE(score->accuracy, 1);
    EXPECT_GE(score->agreement, 0);
    EXPECT_LE(score->agreement, 1);
  }
  EXPECT_GT(report.victim_accuracy, 0.5);
  std::cout << "victim " << report.victim_accuracy << ", adversary " << report.learned.accuracy << " (agreement "
            << report.learned.agreement << "), fine-tuned " << report.fine_tuned.accuracy << ", public alone "
            << report.public_only.accuracy << "\n";
}
