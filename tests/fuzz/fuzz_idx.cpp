// libFuzzer harness: the IDX reader (src/data/idx.cpp), gzipped or plain input
// (src/data/gzip_file.cpp), and the image/label pairing check.
#include <cstdint>

#include "data/idx.hpp"
#include "fuzz_common.hpp"

using namespace tessera;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile input("idx", ".idx");
  const std::string& path = input.write(data, size);
  data::IdxArray array;
  if (!fuzz::accepts([&] { array = data::read_idx(path); })) return 0;

  // What the reader promises about an accepted file.
  if (array.dims.empty() || array.dims.size() > 4) fuzz::finding("accepted IDX with bad rank");
  std::int64_t count = 1;
  for (auto dim : array.dims) {
    if (dim <= 0) fuzz::finding("accepted IDX with a non-positive size");
    count *= dim;  // no overflow: the values are in memory
  }
  if (static_cast<std::uint64_t>(count) != array.values.size())
    fuzz::finding("IDX values (" + std::to_string(array.values.size()) + ") differ from the dims' product (" +
                  std::to_string(count) + ")");
  // Pairing the array with itself: valid for neither (N,H,W) and (N) at once.
  fuzz::accepts([&] { data::check_idx_pair(array, path, array, path); });
  return 0;
}
