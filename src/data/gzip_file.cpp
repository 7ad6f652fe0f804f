#include "data/gzip_file.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
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
  // The file's size sizes the first read (exactly, for a plain file) and zlib's
  // buffers: a small file is not zero-filled over a megabyte, and the multi-megabyte
  // image files take few read calls (128 KiB buffers instead of zlib's 8 KiB).
  struct stat info {};
  const std::size_t on_disk =
      stat(path.c_str(), &info) == 0 && info.st_size > 0 ? static_cast<std::size_t>(info.st_size) : 0;
  if (on_disk > (std::size_t{1} << 20)) gzbuffer(file.get(), 1 << 17);

  // gzread returns less than asked only at the end of the data or on an error. A
  // gzipped file holds more data than its size, so the chunks double (to 16 MiB).
  constexpr std::size_t max_chunk = std::size_t{1} << 24;
  std::size_t chunk = std::clamp(on_disk + 1, std::size_t{1} << 12, max_chunk);
  std::vector<std::uint8_t> bytes;
  for (;;) {
    const std::size_t used = bytes.size();
    bytes.resize(used + chunk);
    const int got = gzread(file.get(), bytes.data() + used, static_cast<unsigned>(chunk));
    bytes.resize(used + (got > 0 ? static_cast<std::size_t>(got) : 0));
    if (got < static_cast<int>(chunk)) break;
    chunk = std::min(chunk * 2, max_chunk);
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
