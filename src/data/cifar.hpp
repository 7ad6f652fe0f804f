// The CIFAR-100 binary format (train.bin, test.bin): records of one coarse label
// byte (0..19), one fine label byte (0..99) and 3072 pixel bytes, 3x32x32
// channel-major (all red, then green, then blue, each row-major).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::data {

inline constexpr std::int64_t kCifarPixels = 3 * 32 * 32;
inline constexpr std::int64_t kCifar100Record = 2 + kCifarPixels;
inline constexpr int kCifar100CoarseClasses = 20;
inline constexpr int kCifar100FineClasses = 100;

struct CifarRecords {
  std::int64_t count = 0;
  std::vector<std::uint8_t> coarse, fine;  // count each
  std::vector<std::uint8_t> pixels;        // count * kCifarPixels, record after record
};

// Reads `path`, gzipped or not. A size that is zero or not a whole number of
// records, or a label out of range, raises a tessera::Error naming the file.
CifarRecords read_cifar100(const std::string& path);

}  // namespace tessera::data
