// Whole-file reading for data sets that are shipped either gzipped or plain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::data {

// The decompressed contents of `path`; a file that is not gzipped is returned as
// it is (zlib reads those transparently), so callers need not know which they got.
// Throws tessera::Error "cannot open '<path>': <reason>", "cannot read '<path>':
// <reason>" (e.g. a directory) or "'<path>': corrupt gzip stream: <zlib message>".
std::vector<std::uint8_t> read_maybe_gzipped(const std::string& path);

}  // namespace tessera::data
