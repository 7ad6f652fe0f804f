#include "data/idx.hpp"

#include <cstdio>
#include <limits>
#include <utility>

#include "core/error.hpp"
#include "data/gzip_file.hpp"

namespace tessera::data {
namespace {

constexpr std::uint8_t kUnsignedByte = 0x08;
constexpr int kMaxDims = 4;

std::uint32_t big_endian32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

std::string hex(std::uint32_t value, int digits) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%0*x", digits, static_cast<unsigned>(value));
  return text;
}

// Naming the type found tells the user whether the file is of another IDX flavour
// (e.g. float features) or not IDX at all.
const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

std::string dims_text(const std::vector<std::int64_t>& dims) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? "x" : "") + std::to_string(dims[i]);
  return dims.empty() ? "(none)" : text;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  std::vector<std::uint8_t> bytes = read_maybe_gzipped(path);
  const auto size = static_cast<std::int64_t>(bytes.size());
  auto truncated_header = [&](std::int64_t needed) {
    return detail::concat("'", path, "': truncated IDX file: header needs ", needed,
                          " bytes, found ", size);
  };
  TESSERA_REQUIRE(size >= 4, truncated_header(4));

  const std::uint32_t magic = big_endian32(bytes.data());
  TESSERA_REQUIRE(bytes[0] == 0 && bytes[1] == 0, "'", path, "': not an IDX file (magic ",
                  hex(magic, 8), ")");
  TESSERA_REQUIRE(bytes[2] == kUnsignedByte, "'", path, "': unsupported IDX element type ",
                  hex(bytes[2], 2), " (", idx_type_name(bytes[2]),
                  "); only unsigned byte (0x08) is supported");
  const int ndims = bytes[3];
  TESSERA_REQUIRE(ndims >= 1 && ndims <= kMaxDims, "'", path, "': IDX file has ", ndims,
                  " dimensions; 1 to ", kMaxDims, " are supported");
  const std::int64_t header = 4 + 4 * std::int64_t{ndims};
  TESSERA_REQUIRE(size >= header, truncated_header(header));

  IdxArray array;
  // Four int32 sizes can overflow int64; no file can hold that much data, so such
  // a header is reported as truncated rather than multiplied out.
  std::int64_t promised = 1;
  bool overflow = false;
  for (int i = 0; i < ndims; ++i) {
    const auto dim = static_cast<std::int32_t>(big_endian32(bytes.data() + 4 + 4 * i));
    TESSERA_REQUIRE(dim > 0, "'", path, "': IDX dimension ", i, " has size ", dim,
                    "; sizes must be positive");
    array.dims.push_back(dim);
    if (promised > std::numeric_limits<std::int64_t>::max() / dim) overflow = true;
    if (!overflow) promised *= dim;
  }

  const std::int64_t found = size - header;
  TESSERA_REQUIRE(!overflow, "'", path, "': truncated IDX file: header promises more than ",
                  std::numeric_limits<std::int64_t>::max(), " bytes of data (dims ",
                  dims_text(array.dims), "), found ", found);
  TESSERA_REQUIRE(found >= promised, "'", path, "': truncated IDX file: header promises ",
                  promised, " bytes of data, found ", found);
  TESSERA_REQUIRE(found == promised, "'", path, "': IDX file has trailing bytes: header promises ",
                  promised, " bytes of data, found ", found);

  // Moving and dropping the header avoids a second allocation of the whole file.
  bytes.erase(bytes.begin(), bytes.begin() + header);
  array.values = std::move(bytes);
  return array;
}

void check_idx_pair(const IdxArray& images, const std::string& images_path,
                    const IdxArray& labels, const std::string& labels_path) {
  TESSERA_REQUIRE(images.dims.size() == 3, "images '", images_path,
                  "' must be 3-D (N,H,W) to pair with labels '", labels_path, "', found dims ",
                  dims_text(images.dims));
  TESSERA_REQUIRE(labels.dims.size() == 1, "labels '", labels_path,
                  "' must be 1-D (N) to pair with images '", images_path, "', found dims ",
                  dims_text(labels.dims));
  TESSERA_REQUIRE(images.dims[0] == labels.dims[0], "images '", images_path, "' hold ",
                  images.dims[0], " items but labels '", labels_path, "' hold ", labels.dims[0]);
}

}  // namespace tessera::data
