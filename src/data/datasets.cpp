#include "data/datasets.hpp"

#include <filesystem>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/cifar.hpp"
#include "data/idx.hpp"

namespace tessera::data {

namespace {

struct Normalisation {
  std::vector<float> mean, std;
};

Normalisation normalisation_of(const std::string& name) {
  if (name == "fashion-mnist") return {{0.2860f}, {0.3530f}};
  if (name == "mnist") return {{0.1307f}, {0.3081f}};
  return {{0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}};  // cifar100
}

// Per-channel mean and std as (1, C, 1, 1) tensors.
std::pair<torch::Tensor, torch::Tensor> moments(const Normalisation& norm) {
  const auto channels = static_cast<std::int64_t>(norm.mean.size());
  return {torch::tensor(norm.mean).view({1, channels, 1, 1}), torch::tensor(norm.std).view({1, channels, 1, 1})};
}

torch::Tensor normalise(const torch::Tensor& bytes, const Normalisation& norm) {
  TESSERA_REQUIRE(bytes.dim() == 4 && bytes.size(1) == static_cast<std::int64_t>(norm.mean.size()),
                  "images of ", bytes.sizes(), " for a data set of ", norm.mean.size(), " channel(s)");
  auto images = bytes.to(torch::kFloat32).div_(255.0f);
  const auto [mean, std] = moments(norm);
  return images.sub_(mean).div_(std);
}

torch::Tensor keep_first(torch::Tensor t, std::int64_t limit) {
  return limit > 0 && limit < t.size(0) ? t.narrow(0, 0, limit).clone() : t;
}

void check_labels(const torch::Tensor& labels, std::int64_t classes, const std::string& path) {
  auto top = labels.numel() ? labels.max().item<std::int64_t>() : 0;
  TESSERA_REQUIRE(top < classes, "'", path, "': label ", top, " outside the ", classes, " classes");
}

std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const auto& name : {stem + ".gz", stem}) {
    auto path = (std::filesystem::path(dir) / name).string();
    if (std::filesystem::exists(path)) return path;
  }
  throw Error("data set file '" + (std::filesystem::path(dir) / (stem + ".gz")).string() +
              "' not found (--data.dir)");
}

Split load_idx_split(const std::string& dir, const std::string& prefix, const Normalisation& norm,
                     std::int64_t limit) {
  const auto images_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const auto labels_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  auto images = read_idx(images_path);
  auto labels = read_idx(labels_path);
  check_idx_pair(images, images_path, labels, labels_path);
  const auto n = images.dims[0], h = images.dims[1], w = images.dims[2];
  TESSERA_REQUIRE(h == 28 && w == 28, "'", images_path, "': images are ", h, "x", w, ", expected 28x28");
  auto bytes = torch::from_blob(images.values.data(), {n, 1, h, w}, torch::kUInt8);
  Split split;
  split.images = normalise(keep_first(bytes, limit), norm);
  split.labels = keep_first(torch::from_blob(labels.values.data(), {n}, torch::kUInt8), limit)
                     .to(torch::kInt64);
  check_labels(split.labels, 10, labels_path);
  return split;
}

Split load_cifar_split(const std::string& path, const Normalisation& norm, std::int64_t limit) {
  TESSERA_REQUIRE(std::filesystem::exists(path), "data set file '", path, "' not found (--data.dir)");
  auto records = read_cifar100(path);
  auto bytes = torch::from_blob(records.pixels.data(), {records.count, 3, 32, 32}, torch::kUInt8);
  Split split;
  split.images = normalise(keep_first(bytes, limit), norm);
  split.labels = keep_first(torch::from_blob(records.fine.data(), {records.count}, torch::kUInt8), limit)
                     .to(torch::kInt64);
  return split;
}

}  // namespace

std::string default_dir(const std::string& name) { return "/usr/share/datasets/" + name; }

Dataset load(const std::string& name, const std::string& dir_option, std::int64_t train_limit,
             std::int64_t test_limit) {
  TESSERA_REQUIRE(train_limit >= 0, "--data.train_limit: must be >= 0");
  TESSERA_REQUIRE(test_limit >= 0, "--data.test_limit: must be >= 0");
  Dataset data;
  data.name = name;
  data.dir = dir_option.empty() ? default_dir(name) : dir_option;
  TESSERA_REQUIRE(std::filesystem::is_directory(data.dir), "--data.dir: data set folder '", data.dir,
                  "' not found", dir_option.empty() ? " (install the Debian package dataset-" + name + ")" : "");
  const auto norm = normalisation_of(name);
  if (name == "fashion-mnist" || name == "mnist") {
    data.classes = 10;
    data.train = load_idx_split(data.dir, "train", norm, train_limit);
    data.test = load_idx_split(data.dir, "t10k", norm, test_limit);
  } else if (name == "cifar100") {
    data.classes = 100;
    data.train = load_cifar_split((std::filesystem::path(data.dir) / "train.bin").string(), norm, train_limit);
    data.test = load_cifar_split((std::filesystem::path(data.dir) / "test.bin").string(), norm, test_limit);
  } else {
    throw Error("--data.name: unknown data set '" + name + "' (known: fashion-mnist, mnist, cifar100)");
  }
  return data;
}

torch::Tensor normalise(const torch::Tensor& bytes, const std::string& name) {
  TESSERA_REQUIRE(bytes.scalar_type() == torch::kUInt8, "images to normalise must be bytes");
  return normalise(bytes, normalisation_of(name));
}

torch::Tensor stored_bytes(const torch::Tensor& images, const std::string& name) {
  const auto norm = normalisation_of(name);
  const auto [mean, std] = moments(norm);
  // The float error of the round trip is about 1e-4 of a grey level: rounding undoes it.
  return images.mul(std).add_(mean).mul_(255.0f).round_().clamp_(0, 255).to(torch::kUInt8);
}

torch::Tensor epoch_order(std::int64_t size, std::uint64_t seed, int epoch) {
  auto generator = at::detail::createCPUGenerator(derive_seed(seed, "epoch-order", epoch));
  return torch::randperm(size, generator, torch::kInt64);
}

}  // namespace tessera::data
