// The IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST, EMNIST):
// a 4-byte magic 0x00 0x00 <type> <ndims>, ndims big-endian int32 sizes, then the
// values in row-major order. Only the unsigned-byte type (0x08) is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::data {

struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> values;  // product of dims, row-major
};

// Reads `path`, gzipped or not. Every malformed file (bad magic, element type
// other than 0x08, ndims outside 1..4, a size <= 0, data shorter or longer than
// the header promises) raises a tessera::Error naming the file.
IdxArray read_idx(const std::string& path);

// Checks that `images` is (N,H,W) and `labels` is (N) with the same N; otherwise
// raises a tessera::Error naming both files. Label values are the caller's concern.
void check_idx_pair(const IdxArray& images, const std::string& images_path,
                    const IdxArray& labels, const std::string& labels_path);

}  // namespace tessera::data
