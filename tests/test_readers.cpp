// The IDX and CIFAR-100 readers, on small synthetic files and, when installed,
// on the Debian Fashion-MNIST test set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/cifar.hpp"
#include "data/gzip_file.hpp"
#include "data/idx.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace tessera::data;

namespace {

class Readers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tessera-readers-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string write_plain(const std::string& name, const Bytes& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  std::string write_gzipped(const std::string& name, const Bytes& bytes) {
    const std::string path = (dir_ / name).string();
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr) << path;
    if (file == nullptr) return path;
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    EXPECT_EQ(gzclose(file), Z_OK);
    return path;
  }

  fs::path dir_;
};

Bytes idx_bytes(const std::vector<std::int32_t>& dims, const Bytes& values,
                std::uint8_t type = 0x08) {
  Bytes out = {0x00, 0x00, type, static_cast<std::uint8_t>(dims.size())};
  for (std::int32_t d : dims) {
    const auto u = static_cast<std::uint32_t>(d);
    out.insert(out.end(), {static_cast<std::uint8_t>(u >> 24), static_cast<std::uint8_t>(u >> 16),
                           static_cast<std::uint8_t>(u >> 8), static_cast<std::uint8_t>(u)});
  }
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

Bytes read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes counting(std::size_t n, unsigned start = 0) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(start + i * 7);
  return out;
}

// The message of the tessera::Error `body` throws, or a failure when it throws none.
std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const tessera::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a tessera::Error";
  return "";
}

TEST_F(Readers, GzippedAndPlainIdxReadBackExactly) {
  const Bytes values = counting(2 * 3 * 4);
  const Bytes file = idx_bytes({2, 3, 4}, values);
  for (const std::string& path :
       {write_gzipped("images.idx3.gz", file), write_plain("images.idx3", file)}) {
    const IdxArray array = read_idx(path);
    EXPECT_EQ(array.dims, (std::vector<std::int64_t>{2, 3, 4})) << path;
    EXPECT_EQ(array.values, values) << path;
  }
  EXPECT_EQ(read_maybe_gzipped(write_gzipped("raw.gz", file)), file);
}

TEST_F(Readers, MissingFileNamesPathAndReason) {
  const std::string path = (dir_ / "absent.gz").string();
  EXPECT_THAT(error_of([&] { read_idx(path); }),
              AllOf(HasSubstr("cannot open '" + path + "'"), HasSubstr("No such file")));
}

TEST_F(Readers, CutGzipStreamIsCorrupt) {
  const std::string whole = write_gzipped("whole.gz", counting(5000));
  Bytes cut = read_plain(whole);
  cut.resize(cut.size() / 2);
  const std::string path = write_plain("cut.gz", cut);
  EXPECT_THAT(error_of([&] { read_maybe_gzipped(path); }),
              AllOf(HasSubstr("'" + path + "'"), HasSubstr("corrupt gzip stream")));
}

TEST_F(Readers, WrongMagic) {
  Bytes file = idx_bytes({3}, counting(3));
  file[0] = 0x1f;
  file[1] = 0x00;
  const std::string path = write_plain("magic.idx", file);
  EXPECT_THAT(error_of([&] { read_idx(path); }),
              AllOf(HasSubstr("'" + path + "'"), HasSubstr("not an IDX file"),
                    HasSubstr("magic 0x1f000801")));
}

TEST_F(Readers, UnsupportedElementType) {
  const std::string path = write_plain("float.idx", idx_bytes({3}, counting(12), 0x0D));
  EXPECT_THAT(error_of([&] { read_idx(path); }),
              AllOf(HasSubstr("'" + path + "'"), HasSubstr("unsupported IDX element type 0x0d")));
}

TEST_F(Readers, BadDimensionCountAndSize) {
  const std::string five = write_plain("five.idx", idx_bytes({1, 1, 1, 1, 1}, {7}));
  EXPECT_THAT(error_of([&] { read_idx(five); }),
              AllOf(HasSubstr("'" + five + "'"), HasSubstr("5 dimensions")));
  const std::string zero = write_plain("zero.idx", idx_bytes({2, 0}, {}));
  EXPECT_THAT(error_of([&] { read_idx(zero); }),
              AllOf(HasSubstr("'" + zero + "'"), HasSubstr("dimension 1 has size 0")));
}

TEST_F(Readers, TruncatedData) {
  Bytes file = idx_bytes({4, 5}, counting(20));
  file.resize(file.size() - 3);
  const std::string path = write_gzipped("short.idx.gz", file);
  EXPECT_THAT(error_of([&] { read_idx(path); }),
              AllOf(HasSubstr("'" + path + "'"),
                    HasSubstr("truncated IDX file: header promises 20 bytes of data, found 17")));
}

TEST_F(Readers, TruncatedHeader) {
  Bytes file = idx_bytes({4, 5}, {});
  file.resize(6);
  const std::string path = write_plain("header.idx", file);
  EXPECT_THAT(error_of([&] { read_idx(path); }),
              AllOf(HasSubstr("'" + path + "'"), HasSubstr("truncated IDX file")));
  const std::string empty = write_plain("empty.idx", {});
  EXPECT_THAT(error_of([&] { read_idx(empty); }),
              AllOf(HasSubstr("'" + empty + "'"), HasSubstr("truncated IDX file")));
}

TEST_F(Readers, TrailingBytes) {
  Bytes file = idx_bytes({4}, counting(4));
  file.push_back(0);
  file.push_back(0);
  const std::string path = write_plain("long.idx", file);
  EXPECT_THAT(error_of([&] { read_idx(path); }),
              AllOf(HasSubstr("'" + path + "'"),
                    HasSubstr("trailing bytes: header promises 4 bytes of data, found 6")));
}

TEST_F(Readers, PairMustAgree) {
  const IdxArray images{{3, 2, 2}, counting(12)};
  const IdxArray labels{{3}, {0, 1, 2}};
  EXPECT_NO_THROW(check_idx_pair(images, "img", labels, "lab"));

  const IdxArray fewer{{2}, {0, 1}};
  EXPECT_THAT(error_of([&] { check_idx_pair(images, "img.gz", fewer, "lab.gz"); }),
              AllOf(HasSubstr("'img.gz'"), HasSubstr("'lab.gz'"), HasSubstr("3 items"),
                    HasSubstr("hold 2")));
  const IdxArray flat{{3, 4}, counting(12)};
  EXPECT_THAT(error_of([&] { check_idx_pair(flat, "img.gz", labels, "lab.gz"); }),
              AllOf(HasSubstr("'img.gz'"), HasSubstr("'lab.gz'"), HasSubstr("3-D")));
  EXPECT_THAT(error_of([&] { check_idx_pair(images, "img.gz", images, "lab.gz"); }),
              AllOf(HasSubstr("'img.gz'"), HasSubstr("'lab.gz'"), HasSubstr("1-D")));
}

Bytes cifar_record(std::uint8_t coarse, std::uint8_t fine, unsigned seed) {
  Bytes record = {coarse, fine};
  const Bytes pixels = counting(kCifarPixels, seed);
  record.insert(record.end(), pixels.begin(), pixels.end());
  return record;
}

TEST_F(Readers, CifarReadsBackExactly) {
  const std::array<std::uint8_t, 3> coarse = {0, 19, 7}, fine = {99, 0, 42};
  Bytes file, pixels;
  for (int i = 0; i < 3; ++i) {
    const Bytes record = cifar_record(coarse[i], fine[i], 11 * i + 1);
    file.insert(file.end(), record.begin(), record.end());
    pixels.insert(pixels.end(), record.begin() + 2, record.end());
  }
  const CifarRecords records = read_cifar100(write_plain("train.bin", file));
  EXPECT_EQ(records.count, 3);
  EXPECT_EQ(records.coarse, Bytes(coarse.begin(), coarse.end()));
  EXPECT_EQ(records.fine, Bytes(fine.begin(), fine.end()));
  EXPECT_EQ(records.pixels, pixels);
}

TEST_F(Readers, CifarSizeNotWholeRecords) {
  Bytes file = cifar_record(1, 1, 0);
  file.pop_back();
  const std::string path = write_plain("odd.bin", file);
  EXPECT_THAT(error_of([&] { read_cifar100(path); }),
              AllOf(HasSubstr("'" + path + "'"),
                    HasSubstr("size 3073 is not a multiple of the 3074-byte CIFAR-100 record")));
  const std::string empty = write_plain("empty.bin", {});
  EXPECT_THAT(error_of([&] { read_cifar100(empty); }),
              AllOf(HasSubstr("'" + empty + "'"), HasSubstr("size 0 is not a multiple")));
}

TEST_F(Readers, CifarBadLabelNamesRecord) {
  Bytes file = cifar_record(1, 2, 0);
  const Bytes bad_fine = cifar_record(3, 100, 1);
  file.insert(file.end(), bad_fine.begin(), bad_fine.end());
  const std::string path = write_plain("fine.bin", file);
  EXPECT_THAT(error_of([&] { read_cifar100(path); }),
              AllOf(HasSubstr("'" + path + "'"), HasSubstr("record 1"),
                    HasSubstr("fine label 100")));

  const std::string coarse = write_plain("coarse.bin", cifar_record(20, 5, 0));
  EXPECT_THAT(error_of([&] { read_cifar100(coarse); }),
              AllOf(HasSubstr("'" + coarse + "'"), HasSubstr("record 0"),
                    HasSubstr("coarse label 20")));
}

const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

TEST(FashionMnist, TestLabelsAreBalanced) {
  const std::string path = std::string(kFashionDir) + "/t10k-labels-idx1-ubyte.gz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing (Debian package dataset-fashion-mnist)";
  const IdxArray labels = read_idx(path);
  ASSERT_EQ(labels.dims, (std::vector<std::int64_t>{10000}));
  std::array<int, 256> histogram{};
  for (std::uint8_t label : labels.values) ++histogram[label];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(histogram[c], 1000) << "class " << c;
  for (int c = 10; c < 256; ++c) EXPECT_EQ(histogram[c], 0) << "label " << c;

  const std::string images_path = std::string(kFashionDir) + "/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(images_path)) return;
  const IdxArray images = read_idx(images_path);
  EXPECT_EQ(images.dims, (std::vector<std::int64_t>{10000, 28, 28}));
  EXPECT_NO_THROW(check_idx_pair(images, images_path, labels, path));
}

}  // namespace
