// The HDF5 wrapper on 1, 2 and 3 ranks: every rank runs every test, so each
// collective call is made by all of them, as in tessera itself.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/h5.hpp"

namespace h5 = tessera::h5;

namespace {

int rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// A fresh file name all ranks share: rank 0 makes it, the others are told.
class TempFile {
 public:
  TempFile() {
    std::vector<char> name(4096, '\0');
    if (rank() == 0) {
      std::string pattern = (std::filesystem::temp_directory_path() / "tessera_h5_XXXXXX.h5").string();
      std::copy(pattern.begin(), pattern.end(), name.begin());
      int fd = mkstemps(name.data(), 3);
      if (fd >= 0) ::close(fd);
    }
    MPI_Bcast(name.data(), static_cast<int>(name.size()), MPI_CHAR, 0, MPI_COMM_WORLD);
    path_ = name.data();
  }
  ~TempFile() {
    // Declared first in each test, so every handle is gone by now: none may leak.
    EXPECT_EQ(H5Fget_obj_count(static_cast<hid_t>(H5F_OBJ_ALL), H5F_OBJ_ALL), 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) std::remove(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The message of the Error `body` throws, or "" when it throws none.
template <class Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const tessera::Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Row range [begin, end) of `rows` that `r` of `n` ranks owns; uneven on purpose.
std::pair<hsize_t, hsize_t> rows_of(hsize_t rows, int r, int n) {
  return {rows * r / n, rows * (r + 1) / n};
}

float value_at(hsize_t row, hsize_t col) { return static_cast<float>(row * 1000 + col) + 0.125f; }

}  // namespace

TEST(H5, GroupsAndAttributesRoundTrip) {
  TempFile tmp;
  const std::string utf8 = "na\xC3\xAFve \xE2\x80\x93 Gr\xC3\xBC\xC3\x9F" "e \xE2\x9C\x93";
  std::vector<double> many(20000);  // 160 KB: past the 64 KiB compact attribute limit
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = 0.5 * static_cast<double>(i);
  {
    auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
    EXPECT_EQ(file.path(), tmp.path());
    EXPECT_TRUE(file.is_open());
    auto root = file.root();
    EXPECT_EQ(root.path(), "/");
    root.set_attr("title", "tessera");
    root.set_attr("utf8", utf8);
    root.set_attr("empty", std::string());
    root.set_attr("count", std::int64_t{-42});
    root.set_attr("small", 7);
    root.set_attr("seed", std::uint64_t{1} << 40);
    root.set_attr("lowest", std::numeric_limits<std::int64_t>::min());
    root.set_attr("pi", 3.141592653589793);
    root.set_attr("ints", std::vector<std::int64_t>{1, -2, std::numeric_limits<std::int64_t>::max()});
    root.set_attr("doubles", std::vector<double>{0.5, -1e300, 2.25});
    root.set_attr("no_ints", std::vector<std::int64_t>{});
    root.set_attr("many", many);
    root.set_attr("names", std::vector<std::string>{"spectral (edges)", utf8, ""});
    root.set_attr("no_names", std::vector<std::string>{});
    root.set_attr("replaced", 1);
    root.set_attr("replaced", "now a string");
    EXPECT_THROW(root.set_attr("huge", std::numeric_limits<std::uint64_t>::max()), tessera::Error);

    auto c = root.require_group("a/b/c");
    EXPECT_EQ(c.path(), "/a/b/c");
    c.set_attr("depth", 3);
    root.group("a").require_group("x");
    root.require_group("/a/b").set_attr("note", "existing group reopened");
    EXPECT_EQ(root.require_group("a//b/./c").path(), "/a/b/c");
    auto data = root.create_dataset<std::int32_t>("a/data", {2});
    data.set_attr("unit", "count");
    const std::int32_t values[] = {5, 6};
    data.write(values);

    EXPECT_TRUE(root.exists("/"));
    EXPECT_TRUE(c.exists(""));
    EXPECT_TRUE(root.exists("a"));
    EXPECT_TRUE(root.exists("a/b/c"));
    EXPECT_TRUE(root.exists("/a/b/c"));
    EXPECT_TRUE(c.exists("/a/x"));
    EXPECT_FALSE(root.exists("a/b/missing"));
    EXPECT_FALSE(root.exists("missing/deeper/still"));
    EXPECT_FALSE(root.exists("a/data/below_a_dataset"));
    EXPECT_EQ(root.group("a").children(), (std::vector<std::string>{"b", "data", "x"}));
    EXPECT_EQ(root.group("a/b/c").children(), std::vector<std::string>{});
    file.close();
    file.close();  // idempotent
    EXPECT_FALSE(file.is_open());
    EXPECT_TRUE(contains(error_of([&] { file.root(); }), "after close"));
  }
  {
    auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
    EXPECT_FALSE(file.writable());
    auto root = file.root();
    EXPECT_EQ(root.attr_string("title"), "tessera");
    EXPECT_EQ(root.attr_string("utf8"), utf8);
    EXPECT_EQ(root.attr_string("empty"), "");
    EXPECT_EQ(root.attr_int("count"), -42);
    EXPECT_EQ(root.attr_int("small"), 7);
    EXPECT_EQ(root.attr_int("seed"), std::int64_t{1} << 40);
    EXPECT_EQ(root.attr_int("lowest"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(root.attr_double("pi"), 3.141592653589793);
    EXPECT_EQ(root.attr_double("small"), 7.0);
    EXPECT_EQ(root.attr_ints("ints"),
              (std::vector<std::int64_t>{1, -2, std::numeric_limits<std::int64_t>::max()}));
    EXPECT_EQ(root.attr_doubles("doubles"), (std::vector<double>{0.5, -1e300, 2.25}));
    EXPECT_EQ(root.attr_ints("count"), std::vector<std::int64_t>{-42});
    EXPECT_TRUE(root.attr_ints("no_ints").empty());
    EXPECT_EQ(root.attr_doubles("many"), many);
    EXPECT_EQ(root.attr_strings("names"), (std::vector<std::string>{"spectral (edges)", utf8, ""}));
    EXPECT_TRUE(root.attr_strings("no_names").empty());
    EXPECT_TRUE(contains(error_of([&] { root.attr_strings("pi"); }), "not variable-length strings"));
    EXPECT_EQ(root.attr_string("replaced"), "now a string");
    EXPECT_FALSE(root.has_attr("huge"));
    EXPECT_TRUE(root.has_attr("title"));
    EXPECT_EQ(root.attr_names(),
              (std::vector<std::string>{"count", "doubles", "empty", "ints", "lowest", "many", "names",
                                        "no_ints", "no_names", "pi", "replaced", "seed", "small", "title",
                                        "utf8"}));
    EXPECT_EQ(root.group("a/b/c").attr_int("depth"), 3);
    EXPECT_EQ(root.group("a/b").attr_string("note"), "existing group reopened");
    auto data = root.dataset("a/data");
    EXPECT_EQ(data.attr_string("unit"), "count");
    EXPECT_EQ(data.read<std::int32_t>(), (std::vector<std::int32_t>{5, 6}));
    EXPECT_EQ(root.children(), (std::vector<std::string>{"a"}));

    const std::string prefix = "HDF5 file '" + tmp.path() + "': ";
    EXPECT_EQ(error_of([&] { root.attr_string("nope"); }),
              prefix + "cannot read attribute 'nope' of '/': not found");
    EXPECT_EQ(error_of([&] { root.attr_int("title"); }),
              prefix + "cannot read attribute 'title' of '/': it is not an integer");
    EXPECT_EQ(error_of([&] { root.attr_double("title"); }),
              prefix + "cannot read attribute 'title' of '/': it is not a number");
    EXPECT_EQ(error_of([&] { root.attr_string("pi"); }),
              prefix + "cannot read attribute 'pi' of '/': it is not a string");
    EXPECT_EQ(error_of([&] { root.attr_int("ints"); }),
              prefix + "cannot read attribute 'ints' of '/': it holds 3 values, not one");
    // Read-only: refused the same way on every rank, before any collective step.
    EXPECT_TRUE(contains(error_of([&] { root.set_attr("late", 1); }),
                         prefix + "cannot create attribute 'late' of '/'"));
  }
}

// Strings written by other tools (h5py's np.bytes_, Fortran codes) are fixed-length.
TEST(H5, FixedLengthStringAttributesAreRead) {
  TempFile tmp;
  h5::File::create(tmp.path(), MPI_COMM_WORLD).close();
  if (rank() == 0) {  // plain serial HDF5, as another program would write it
    hid_t file = H5Fopen(tmp.path().c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    hid_t space = H5Screate(H5S_SCALAR);
    auto add = [&](const char* name, const char* text, std::size_t size, H5T_str_t pad) {
      hid_t type = H5Tcopy(H5T_C_S1);
      H5Tset_size(type, size);
      H5Tset_strpad(type, pad);
      std::string buffer(text);
      buffer.resize(size, pad == H5T_STR_SPACEPAD ? ' ' : '\0');
      hid_t attr = H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
      EXPECT_GE(H5Awrite(attr, type, buffer.data()), 0);
      H5Aclose(attr);
      H5Tclose(type);
    };
    add("nullterm", "abc", 8, H5T_STR_NULLTERM);
    add("nullpad", "exactly8", 8, H5T_STR_NULLPAD);
    add("spacepad", "fortran", 12, H5T_STR_SPACEPAD);
    H5Sclose(space);
    H5Fclose(file);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  auto root = file.root();
  EXPECT_EQ(root.attr_string("nullterm"), "abc");
  EXPECT_EQ(root.attr_string("nullpad"), "exactly8");
  EXPECT_EQ(root.attr_string("spacepad"), "fortran");
}

TEST(H5, SlabsWrittenByEachRankReadBackEverywhere) {
  TempFile tmp;
  const int r = rank(), n = size();
  const hsize_t cols = 5;
  // 7 rows split unevenly; size - 1 rows (at least 1) leave rank 0 with none on 2 or 3 ranks.
  const std::vector<std::pair<std::string, hsize_t>> layouts = {
      {"contiguous", 7}, {"chunked", 7}, {"few_rows", static_cast<hsize_t>(std::max(1, n - 1))}};
  {
    auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
    auto root = file.root();
    for (const auto& [name, rows] : layouts) {
      h5::DatasetOptions options;
      if (name == "chunked") options.chunk = {3, cols};
      auto ds = root.create_dataset<float>("slabs/" + name, {rows, cols}, options);
      auto [begin, end] = rows_of(rows, r, n);
      std::vector<float> mine;
      for (hsize_t i = begin; i < end; ++i)
        for (hsize_t j = 0; j < cols; ++j) mine.push_back(value_at(i, j));
      ds.write_slab<float>({begin, 0}, {end - begin, cols}, mine.data());
      EXPECT_TRUE(ds.last_io_was_collective()) << name << ": " << ds.last_io_report();
      EXPECT_TRUE(contains(ds.last_io_report(), name == "chunked" ? "chunked" : "contiguous"))
          << ds.last_io_report();
    }
    // write(): rank 0's data is what lands, whatever the others pass.
    auto whole = root.create_dataset<std::int64_t>("whole", {2, 3});
    std::vector<std::int64_t> data = {1, 2, 3, 4, 5, 6};
    for (auto& v : data) v += 100 * r;
    whole.write(data.data());
    EXPECT_TRUE(whole.last_io_was_collective()) << whole.last_io_report();
  }
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  auto root = file.root();
  for (const auto& [name, rows] : layouts) {
    auto ds = root.dataset("slabs/" + name);
    EXPECT_EQ(ds.shape(), (std::vector<hsize_t>{rows, cols}));
    EXPECT_EQ(ds.dtype(), h5::DType::f32);
    std::vector<float> all = ds.read<float>();
    EXPECT_TRUE(ds.last_io_was_collective()) << name << ": " << ds.last_io_report();
    ASSERT_EQ(all.size(), rows * cols);
    for (hsize_t i = 0; i < rows; ++i)
      for (hsize_t j = 0; j < cols; ++j) EXPECT_EQ(all[i * cols + j], value_at(i, j)) << name;

    // Each rank reads back its own rows, collectively; some read none.
    auto [begin, end] = rows_of(rows, r, n);
    std::vector<float> mine = ds.read_slab<float>({begin, 0}, {end - begin, cols});
    EXPECT_TRUE(ds.last_io_was_collective()) << ds.last_io_report();
    ASSERT_EQ(mine.size(), (end - begin) * cols);
    for (hsize_t i = begin; i < end; ++i)
      for (hsize_t j = 0; j < cols; ++j) EXPECT_EQ(mine[(i - begin) * cols + j], value_at(i, j));

    // Converting float to double is done by HDF5 in independent I/O.
    std::vector<double> widened = ds.read<double>();
    EXPECT_FALSE(ds.last_io_was_collective());
    EXPECT_EQ(ds.last_io_report(), "independent: datatype conversion");
    for (hsize_t k = 0; k < widened.size(); ++k) EXPECT_EQ(widened[k], all[k]);
  }
  EXPECT_EQ(root.dataset("whole").read<std::int64_t>(), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(H5, ExtendibleChunkedCompressedGrowsByRows) {
  TempFile tmp;
  const hsize_t cols = 3;
  auto row_value = [](hsize_t row, hsize_t col) { return static_cast<double>(row) * 10.0 + col / 4.0; };
  hsize_t total = 0;
  {
    auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
    h5::DatasetOptions options;
    options.chunk = {4, cols};
    options.max_dims = {h5::unlimited, cols};
    options.deflate = 6;
    auto ds = file.root().create_dataset<double>("log/rows", {0, cols}, options);
    EXPECT_EQ(ds.shape(), (std::vector<hsize_t>{0, cols}));
    EXPECT_EQ(ds.max_shape(), (std::vector<hsize_t>{h5::unlimited, cols}));
    for (hsize_t batch : {2, 5, 1}) {
      std::vector<double> rows;
      for (hsize_t i = total; i < total + batch; ++i)
        for (hsize_t j = 0; j < cols; ++j) rows.push_back(row_value(i, j) + (rank() == 0 ? 0 : 1e6));
      ds.append_rows(rows.data(), batch);
      total += batch;
      EXPECT_EQ(ds.shape(), (std::vector<hsize_t>{total, cols}));
      EXPECT_TRUE(ds.last_io_was_collective()) << ds.last_io_report();
    }
    ds.append_rows<double>(nullptr, 0);  // nothing to add is fine
    EXPECT_EQ(ds.shape(), (std::vector<hsize_t>{total, cols}));

    // No chunk given: one is picked, since extendible datasets need one.
    h5::DatasetOptions grow_only;
    grow_only.max_dims = {h5::unlimited, 10};
    auto automatic = file.root().create_dataset<std::uint8_t>("log/bytes", {0, 10}, grow_only);
    std::vector<std::uint8_t> bytes(30);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7);
    automatic.append_rows(bytes.data(), 3);
    automatic.append_rows(bytes.data(), 3);

    std::string error = error_of([&] { ds.extend({total, cols + 1}); });
    EXPECT_TRUE(contains(error, "cannot extend '/log/rows' to [" + std::to_string(total) + ", 4]")) << error;
    EXPECT_EQ(ds.shape(), (std::vector<hsize_t>{total, cols}));  // unchanged by the refusal
  }
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  auto ds = file.root().dataset("log/rows");
  EXPECT_EQ(ds.shape(), (std::vector<hsize_t>{8, cols}));
  std::vector<double> all = ds.read<double>();
  ASSERT_EQ(all.size(), 8 * cols);
  for (hsize_t i = 0; i < 8; ++i)
    for (hsize_t j = 0; j < cols; ++j) EXPECT_EQ(all[i * cols + j], row_value(i, j));
  auto bytes = file.root().dataset("log/bytes").read<std::uint8_t>();
  ASSERT_EQ(bytes.size(), 60u);
  for (std::size_t i = 0; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], static_cast<std::uint8_t>((i % 30) * 7));
}

TEST(H5, EveryElementTypeRoundTrips) {
  TempFile tmp;
  const std::vector<float> f32 = {1.5f, -0.0f, std::numeric_limits<float>::max()};
  const std::vector<double> f64 = {1e-300, -2.5, std::numeric_limits<double>::lowest()};
  const std::vector<std::int32_t> i32 = {std::numeric_limits<std::int32_t>::min(), 0, 7};
  const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 1};
  const std::vector<std::uint8_t> u8 = {0, 128, 255};
  const std::vector<std::uint64_t> u64 = {0, 1, std::numeric_limits<std::uint64_t>::max()};
  {
    auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
    auto root = file.root();
    root.create_dataset<float>("f32", {3}).write(f32.data());
    root.create_dataset<double>("f64", {3}).write(f64.data());
    root.create_dataset<std::int32_t>("i32", {3}).write(i32.data());
    root.create_dataset<std::int64_t>("i64", {3}).write(i64.data());
    root.create_dataset<std::uint8_t>("u8", {3}).write(u8.data());
    root.create_dataset<std::uint64_t>("u64", {3}).write(u64.data());
    root.create_dataset<float>("empty", {0, 4}).write<float>(nullptr);
  }
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  auto root = file.root();
  EXPECT_EQ(root.dataset("f32").read<float>(), f32);
  EXPECT_EQ(root.dataset("f64").read<double>(), f64);
  EXPECT_EQ(root.dataset("i32").read<std::int32_t>(), i32);
  EXPECT_EQ(root.dataset("i64").read<std::int64_t>(), i64);
  EXPECT_EQ(root.dataset("u8").read<std::uint8_t>(), u8);
  EXPECT_EQ(root.dataset("u64").read<std::uint64_t>(), u64);
  EXPECT_EQ(root.dataset("u64").dtype(), h5::DType::u64);
  EXPECT_EQ(root.dataset("i32").dtype(), h5::DType::i32);
  EXPECT_EQ(root.dataset("empty").shape(), (std::vector<hsize_t>{0, 4}));
  EXPECT_TRUE(root.dataset("empty").read<float>().empty());
}

TEST(H5, ErrorsNameTheFileAndObject) {
  TempFile tmp;
  const std::string missing = tmp.path() + ".missing";
  std::string error = error_of([&] { h5::File::open(missing, MPI_COMM_WORLD); });
  EXPECT_EQ(error, "cannot open HDF5 file '" + missing + "': No such file or directory");
  error = error_of([&] { h5::File::open(missing, MPI_COMM_WORLD, true); });
  EXPECT_EQ(error, "cannot open HDF5 file '" + missing + "': No such file or directory");

  const std::string nowhere = tmp.path() + ".d/sub/x.h5";
  error = error_of([&] { h5::File::create(nowhere, MPI_COMM_WORLD); });
  EXPECT_TRUE(contains(error, "cannot create HDF5 file '" + nowhere + "': directory '")) << error;

  if (rank() == 0) std::ofstream(tmp.path()) << "this is plain text, not HDF5\n";
  MPI_Barrier(MPI_COMM_WORLD);
  error = error_of([&] { h5::File::open(tmp.path(), MPI_COMM_WORLD); });
  EXPECT_EQ(error, "cannot open HDF5 file '" + tmp.path() + "': not an HDF5 file");

  auto file = h5::File::create(tmp.path(), MPI_COMM_WORLD);
  auto root = file.root();
  root.require_group("model");
  auto ds = root.create_dataset<float>("model/bias", {4});
  const std::string prefix = "HDF5 file '" + tmp.path() + "': ";
  EXPECT_EQ(error_of([&] { root.dataset("model/fc.weight"); }),
            prefix + "cannot open dataset '/model/fc.weight': not found");
  EXPECT_EQ(error_of([&] { root.group("model").dataset("fc.weight"); }),
            prefix + "cannot open dataset '/model/fc.weight': not found");
  EXPECT_EQ(error_of([&] { root.dataset("model"); }),
            prefix + "cannot open dataset '/model': it is not a dataset");
  EXPECT_EQ(error_of([&] { root.group("model/bias"); }),
            prefix + "cannot open group '/model/bias': it is not a group");
  EXPECT_EQ(error_of([&] { root.group("none/at/all"); }),
            prefix + "cannot open group '/none/at/all': not found");
  EXPECT_EQ(error_of([&] { root.create_dataset<float>("model/bias", {4}); }),
            prefix + "cannot create dataset '/model/bias': it already exists");
  EXPECT_TRUE(contains(error_of([&] { root.require_group("model/bias/below"); }),
                       prefix + "cannot create group '/model/bias/below'"));
  EXPECT_TRUE(contains(error_of([&] { root.create_dataset<float>("bad", {4}, {{}, {3}, 0}); }),
                       "max_dims [3] below dims [4]"));
  EXPECT_TRUE(contains(error_of([&] { ds.extend({8}); }), "its maximum shape is [4]"));

  // One rank's bad slab becomes an Error on every rank, before the collective write.
  const int last = size() - 1;
  const float values[4] = {1, 2, 3, 4};
  std::vector<hsize_t> offset = {rank() == last ? hsize_t{3} : hsize_t{0}};
  std::vector<hsize_t> count = {rank() == last ? hsize_t{2} : hsize_t{0}};
  error = error_of([&] { ds.write_slab(offset, count, values); });
  EXPECT_TRUE(contains(error, prefix + "cannot write '/model/bias' at offset [3] count [2]: outside its shape [4]"))
      << error;
  // The file is still usable afterwards.
  ds.write(values);
  EXPECT_EQ(ds.read<float>(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(H5, ADatasetClaimingMoreThanTheFileStoresIsRefusedBeforeAllocating) {
  // A third-party file (serial HDF5, chunks allocated when written) whose chunked
  // datasets were never written: one claims 2^27 doubles (1 GiB) in a file of a few
  // kilobytes, one of them compressed. Reading either must be refused with the
  // dataset named, not allocate what it claims and return fill values.
  TempFile tmp;
  if (rank() == 0) {
    const hid_t file = H5Fcreate(tmp.path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[1] = {hsize_t{1} << 27}, chunk[1] = {1 << 16};
    for (const char* name : {"plain", "compressed"}) {
      const hid_t space = H5Screate_simple(1, dims, nullptr), dcpl = H5Pcreate(H5P_DATASET_CREATE);
      H5Pset_chunk(dcpl, 1, chunk);
      if (std::string(name) == "compressed") H5Pset_deflate(dcpl, 6);
      H5Dclose(H5Dcreate2(file, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
      H5Pclose(dcpl);
      H5Sclose(space);
    }
    H5Fclose(file);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  auto file = h5::File::open(tmp.path(), MPI_COMM_WORLD);
  for (const std::string name : {"plain", "compressed"}) {
    const auto error = error_of([&] { file.root().dataset(name).read<double>(); });
    EXPECT_TRUE(contains(error, "dataset '/" + name + "' claims [134217728] elements")) << error;
    EXPECT_TRUE(contains(error, "but the file stores 0")) << error;
  }
}
