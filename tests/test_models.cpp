// The architectures: shapes, PyTorch parameter names, the seed's replication.
#include <gtest/gtest.h>

#include "models/registry.hpp"

using namespace tessera;

namespace {

std::map<std::string, std::vector<std::int64_t>> shapes(models::Network& net) {
  std::map<std::string, std::vector<std::int64_t>> out;
  for (const auto& item : net.named_parameters()) out[item.key()] = item.value().sizes().vec();
  return out;
}

torch::Tensor batch_for(const models::Architecture& arch, std::int64_t n) {
  return torch::randn({n, arch.channels, arch.height, arch.width});
}

}  // namespace

TEST(Models, EveryArchitectureMapsImagesToClassLogits) {
  torch::NoGradGuard no_grad;
  for (const auto& arch : models::architectures()) {
    auto net = models::build(arch.name, 1);
    net->eval();
    auto logits = net->forward(batch_for(arch, 2));
    EXPECT_EQ(logits.sizes().vec(), (std::vector<std::int64_t>{2, arch.classes})) << arch.name;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << arch.name;
  }
}

TEST(Models, ParameterNamesFollowPyTorch) {
  auto mini = shapes(*models::build("vgg-mini", 1));
  EXPECT_EQ(mini.at("classifier.0.weight"), (std::vector<std::int64_t>{1024, 6272}));
  EXPECT_EQ(mini.at("classifier.3.weight"), (std::vector<std::int64_t>{1024, 1024}));
  EXPECT_EQ(mini.at("classifier.6.weight"), (std::vector<std::int64_t>{10, 1024}));
  EXPECT_EQ(mini.at("features.6.weight"), (std::vector<std::int64_t>{128, 64, 3, 3}));

  auto mlp = shapes(*models::build("mlp-mixnn", 1));
  EXPECT_EQ(mlp.size(), 6u);
  EXPECT_EQ(mlp.at("layers.0.weight"), (std::vector<std::int64_t>{128, 784}));
  EXPECT_EQ(mlp.at("layers.2.weight"), (std::vector<std::int64_t>{64, 128}));
  EXPECT_EQ(mlp.at("layers.4.weight"), (std::vector<std::int64_t>{10, 64}));
  auto mlp7 = shapes(*models::build("mlp7", 1));
  EXPECT_EQ(mlp7.size(), 14u);
  EXPECT_EQ(mlp7.at("layers.0.weight"), (std::vector<std::int64_t>{256, 784}));
  EXPECT_EQ(mlp7.at("layers.4.weight"), (std::vector<std::int64_t>{128, 128}));
  EXPECT_EQ(mlp7.at("layers.12.weight"), (std::vector<std::int64_t>{10, 32}));

  // torchvision VGG16 numbering: 13 convs, the last at features.28.
  auto seed = shapes(*models::build("vgg16-seed", 1));
  EXPECT_EQ(seed.at("features.28.weight"), (std::vector<std::int64_t>{512, 512, 3, 3}));
  EXPECT_EQ(seed.at("classifier.0.weight"), (std::vector<std::int64_t>{4096, 25088}));
  EXPECT_EQ(seed.at("classifier.6.weight"), (std::vector<std::int64_t>{100, 4096}));
  auto cifar = shapes(*models::build("vgg16-cifar", 1));
  EXPECT_EQ(cifar.at("classifier.0.weight"), (std::vector<std::int64_t>{512, 512}));
  EXPECT_EQ(cifar.at("classifier.3.weight"), (std::vector<std::int64_t>{100, 512}));
}

TEST(Models, LargestLinearIsTheTargetLayer) {
  EXPECT_EQ(models::largest_linear(*models::build("vgg-mini", 1)), "classifier.0");
  EXPECT_EQ(models::largest_linear(*models::build("vgg16-seed", 1)), "classifier.0");
  EXPECT_EQ(models::largest_linear(*models::build("mlp-mixnn", 1)), "layers.0");
}

TEST(Models, SameSeedSameWeightsOtherSeedOther) {
  auto a = models::build("vgg-mini", 7), b = models::build("vgg-mini", 7), c = models::build("vgg-mini", 8);
  auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  EXPECT_FALSE(torch::equal(pa[0], pc[0]));
}

// The seed geometry feeds classifier.0 with 49 copies of each channel's value:
// perturbing the weights of one copy's columns by a pattern that sums to zero over
// the copies leaves the output unchanged.
TEST(Models, SeedPoolReplicatesEachChannel49Times) {
  torch::NoGradGuard no_grad;
  auto net = models::build("vgg-mini-seedpool", 3);
  net->eval();
  auto images = batch_for(models::architecture("vgg-mini-seedpool"), 4);
  auto before = net->forward(images);
  torch::Tensor weight;
  for (auto& item : net->named_parameters())
    if (item.key() == "classifier.0.weight") weight = item.value();
  // Columns are channel-major (c*49 + position): move weight between positions 0 and 1.
  auto w = weight.view({1024, 128, 49});
  auto delta = torch::randn({1024, 128});
  w.select(2, 0).add_(delta);
  w.select(2, 1).sub_(delta);
  EXPECT_LT((net->forward(images) - before).abs().max().item<double>(), 1e-4);

  // The non-redundant geometry does notice the same change.
  auto plain = models::build("vgg-mini", 3);
  plain->eval();
  auto plain_before = plain->forward(images);
  for (auto& item : plain->named_parameters())
    if (item.key() == "classifier.0.weight") {
      auto pw = item.value().view({1024, 128, 49});
      pw.select(2, 0).add_(delta);
      pw.select(2, 1).sub_(delta);
    }
  EXPECT_GT((plain->forward(images) - plain_before).abs().max().item<double>(), 1e-3);
}

TEST(Models, UnknownArchitectureNamesTheOption) {
  try {
    models::architecture("resnet9");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("--model.arch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("resnet9"), std::string::npos) << e.what();
  }
}
