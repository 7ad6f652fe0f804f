// Model files: save and load round trip on every rank; a file missing a
// parameter, of another arch, or with a mis-shaped parameter is an AgreedError.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "io/output_file.hpp"
#include "models/model_file.hpp"
#include "test_util.hpp"

using namespace tessera;

namespace {

std::string load_error(const std::string& path, const std::string& expected_arch = "") {
  try {
    models::load(path, MPI_COMM_WORLD, expected_arch);
  } catch (const AgreedError& e) {
    return e.what();
  }
  return "no error";
}

// An mlp-mixnn model group with the attributes but no parameters yet.
h5::Group mlp_model_group(const h5::File& file) {
  auto model = file.root().require_group("model");
  model.set_attr("arch", "mlp-mixnn");
  model.set_attr("dataset", "fashion-mnist");
  model.set_attr("test_accuracy", 0.5);
  return model;
}

}  // namespace

TEST(ModelFile, RoundTripIsExact) {
  test::SharedTempFile temp;
  auto net = models::build("vgg-mini", 4);
  {
    io::OutputFile out(temp.path(), MPI_COMM_WORLD, {"train", "[run]\nseed = 4\n", 4});
    models::save(*net, {"vgg-mini", "fashion-mnist", 0.875}, out.root());
    out.commit();
  }
  auto loaded = models::load(temp.path(), MPI_COMM_WORLD, "vgg-mini");
  EXPECT_EQ(loaded.info.arch, "vgg-mini");
  EXPECT_EQ(loaded.info.dataset, "fashion-mnist");
  EXPECT_DOUBLE_EQ(loaded.info.test_accuracy, 0.875);
  auto a = net->named_parameters(), b = loaded.network->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) EXPECT_TRUE(torch::equal(item.value(), b[item.key()])) << item.key();

  auto file = h5::File::open(temp.path(), MPI_COMM_WORLD);
  auto root = file.root();
  EXPECT_EQ(root.attr_string("command"), "train");
  EXPECT_EQ(root.attr_int("seed"), 4);
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(root.attr_int("world_size"), size);
  EXPECT_EQ(root.attr_string("config"), "[run]\nseed = 4\n");
  EXPECT_EQ(root.attr_string("created_utc").size(), 20u);
  EXPECT_EQ(root.dataset("model/classifier.0.weight").shape(), (std::vector<hsize_t>{1024, 6272}));
}

TEST(ModelFile, UncommittedOutputLeavesNothing) {
  test::SharedTempFile temp;
  std::remove(temp.path().c_str());
  MPI_Barrier(MPI_COMM_WORLD);
  {
    io::OutputFile out(temp.path(), MPI_COMM_WORLD, {"train", "", 1});
    models::save(*models::build("mlp-mixnn", 1), {"mlp-mixnn", "x", 0}, out.root());
  }  // no commit: as when an error unwinds
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_NE(access(temp.path().c_str(), F_OK), 0);
  EXPECT_NE(access((temp.path() + ".partial").c_str(), F_OK), 0);
}

TEST(ModelFile, BadModelFilesAreAgreedErrorsNamingTheFault) {
  test::SharedTempFile temp;
  {
    // An mlp-mixnn file with only its first weight.
    auto file = h5::File::create(temp.path(), MPI_COMM_WORLD);
    auto model = mlp_model_group(file);
    std::vector<float> zeros(128 * 784, 0.0f);
    model.create_dataset<float>("layers.0.weight", {128, 784}).write(zeros.data());
    model.create_dataset<float>("layers.0.bias", {64}).write(zeros.data());
  }
  auto missing = load_error(temp.path());
  EXPECT_NE(missing.find("layers.0.bias"), std::string::npos) << missing;
  EXPECT_NE(missing.find(temp.path()), std::string::npos) << missing;
  EXPECT_NE(missing.find("is 64, arch mlp-mixnn needs 128"), std::string::npos) << missing;

  auto other_arch = load_error(temp.path(), "vgg-mini");
  EXPECT_NE(other_arch.find("holds a mlp-mixnn, not the vgg-mini"), std::string::npos) << other_arch;

  auto absent = load_error(temp.path() + ".absent");
  EXPECT_NE(absent.find("cannot open HDF5 file"), std::string::npos) << absent;
}

TEST(ModelFile, MissingParameterIsNamed) {
  test::SharedTempFile temp;
  {
    auto file = h5::File::create(temp.path(), MPI_COMM_WORLD);
    mlp_model_group(file);
  }
  auto message = load_error(temp.path());
  EXPECT_NE(message.find("is missing parameter 'layers.0.weight'"), std::string::npos) << message;
}
