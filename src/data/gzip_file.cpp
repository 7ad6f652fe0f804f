#include "data/gzip_file.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/error.hpp"

namespace tessera::data {
namespace {

// zlib prefixes its messages with the path it was given; we name the file ourselves.
std::string zlib_message(gzFile file, const std::string& path, int* errnum) {
  std::string message = gzerror(file, errnum);
  const std::string prefix = path + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
  return message;
}

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

}  // namespace

std::vector<std::uint8_t> read_maybe_gzipped(const std::string& path) {
  errno = 0;
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  TESSERA_REQUIRE(file, "cannot open '", path, "': ",
                  errno != 0 ? std::strerror(errno) : "out of memory");
  // Fewer read calls on the multi-megabyte image files than with the 8 KiB default.
  gzbuffer(file.get(), 1 << 17);

  std::vector<std::uint8_t> bytes;
  constexpr std::size_t chunk = std::size_t{1} << 20;
  for (;;) {
    const std::size_t used = bytes.size();
    bytes.resize(used + chunk);
    const int got = gzread(file.get(), bytes.data() + used, static_cast<unsigned>(chunk));
    bytes.resize(used + (got > 0 ? static_cast<std::size_t>(got) : 0));
    if (got <= 0) break;
  }

  // A stream cut short is not an error from gzread itself: zlib records it
  // (Z_BUF_ERROR, "unexpected end of file") and only reports it when asked.
  int errnum = Z_OK;
  const std::string message = zlib_message(file.get(), path, &errnum);
  TESSERA_REQUIRE(errnum != Z_ERRNO, "cannot read '", path, "': ", message);
  TESSERA_REQUIRE(errnum == Z_OK, "'", path, "': corrupt gzip stream: ", message);
  bytes.shrink_to_fit();
  return bytes;
}

}  // namespace tessera::data
