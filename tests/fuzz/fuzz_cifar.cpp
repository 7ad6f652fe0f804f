// libFuzzer harness: the CIFAR-100 binary reader (src/data/cifar.cpp), gzipped or
// plain input (src/data/gzip_file.cpp).
#include <cstdint>
#include <cstring>

#include "data/cifar.hpp"
#include "fuzz_common.hpp"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile input("cifar", ".bin");
  const std::string& path = input.write(data, size);
  data::CifarRecords records;
  if (!fuzz::accepts([&] { records = data::read_cifar100(path); })) return 0;

  // What the reader promises about an accepted file.
  const auto n = static_cast<std::size_t>(records.count);
  if (records.count <= 0 || records.coarse.size() != n || records.fine.size() != n ||
      records.pixels.size() != n * data::kCifarPixels)
    fuzz::finding("CIFAR records of inconsistent sizes");
  for (std::size_t i = 0; i < n; ++i)
    if (records.coarse[i] >= data::kCifar100CoarseClasses || records.fine[i] >= data::kCifar100FineClasses)
      fuzz::finding("accepted a CIFAR label out of range");
  // A plain (not gzipped) file is returned record for record.
  if (size == n * data::kCifar100Record && !(size >= 2 && data[0] == 0x1f && data[1] == 0x8b))
    for (std::size_t i = 0; i < n; ++i)
      if (std::memcmp(records.pixels.data() + i * data::kCifarPixels, data + i * data::kCifar100Record + 2,
                      data::kCifarPixels) != 0)
        fuzz::finding("CIFAR pixels differ from the file");
  return 0;
}
