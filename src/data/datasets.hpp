// Data sets as normalised tensors held in memory (the whole test set fits).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace tessera::data {

struct Split {
  torch::Tensor images;  // float32 (N, C, H, W), normalised per channel
  torch::Tensor labels;  // int64 (N)
  std::int64_t size() const { return labels.size(0); }
};

struct Dataset {
  std::string name, dir;
  std::int64_t classes = 0;
  Split train, test;
};

// The folder used when --data.dir is empty: the Debian package's.
std::string default_dir(const std::string& name);

// name: fashion-mnist, mnist (IDX files, gzipped or not) or cifar100 (train.bin,
// test.bin). A limit > 0 keeps only the first that many images of a split.
// Errors name the file or option at fault.
Dataset load(const std::string& name, const std::string& dir, std::int64_t train_limit = 0,
             std::int64_t test_limit = 0);

// A data set's images in the two forms: as stored (uint8, 0-255, what a file or a
// network carries, a quarter of the bytes) and normalised (what a model reads).
// `stored_bytes` inverts `normalise` exactly: normalise(stored_bytes(x)) is x bit for
// bit for every image `load` returned (tested), so a batch may travel as bytes.
torch::Tensor normalise(const torch::Tensor& bytes, const std::string& name);
torch::Tensor stored_bytes(const torch::Tensor& images, const std::string& name);

// The order of the training images in `epoch`: a seeded permutation.
torch::Tensor epoch_order(std::int64_t size, std::uint64_t seed, int epoch);

}  // namespace tessera::data
