#include "data/cifar.hpp"

#include <cstring>

#include "core/error.hpp"
#include "data/gzip_file.hpp"

namespace tessera::data {

CifarRecords read_cifar100(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_maybe_gzipped(path);
  const auto size = static_cast<std::int64_t>(bytes.size());
  // The CIFAR-10 files differ only by the missing coarse byte, and are easy to mix up.
  const bool looks_like_cifar10 = size > 0 && size % (kCifar100Record - 1) == 0;
  TESSERA_REQUIRE(size > 0 && size % kCifar100Record == 0, "'", path, "': size ", size,
                  " is not a multiple of the ", kCifar100Record, "-byte CIFAR-100 record",
                  looks_like_cifar10 ? " (it fits 3073-byte CIFAR-10 records)" : "");

  CifarRecords records;
  records.count = size / kCifar100Record;
  records.coarse.resize(records.count);
  records.fine.resize(records.count);
  records.pixels.resize(records.count * kCifarPixels);
  for (std::int64_t i = 0; i < records.count; ++i) {
    const std::int64_t offset = i * kCifar100Record;
    const std::uint8_t* record = bytes.data() + offset;
    TESSERA_REQUIRE(record[0] < kCifar100CoarseClasses, "'", path, "': record ", i,
                    " (byte offset ", offset, ") has coarse label ", int{record[0]},
                    "; CIFAR-100 coarse labels are 0..", kCifar100CoarseClasses - 1);
    TESSERA_REQUIRE(record[1] < kCifar100FineClasses, "'", path, "': record ", i,
                    " (byte offset ", offset, ") has fine label ", int{record[1]},
                    "; CIFAR-100 fine labels are 0..", kCifar100FineClasses - 1);
    records.coarse[i] = record[0];
    records.fine[i] = record[1];
    std::memcpy(records.pixels.data() + i * kCifarPixels, record + 2, kCifarPixels);
  }
  return records;
}

}  // namespace tessera::data
