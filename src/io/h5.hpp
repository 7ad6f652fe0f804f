// Parallel HDF5, wrapped after HighFive: every C call is checked and turned into a
// tessera::Error naming the file, the object and what was attempted, and every
// identifier is owned by a move-only handle, so callers never see a raw hid_t.
//
// Files are always opened through MPI-IO on a communicator. The parallel HDF5 rules
// then apply to callers:
//  * collective (every rank of the file's communicator calls, in the same order, with
//    the same arguments): File::create/open/flush/close and destruction, creating
//    groups and datasets, Group::remove, set_attr, Dataset::write/write_slab/read/read_slab/extend/
//    append_rows, and destroying the last object of a closed File;
//  * independent (any rank may call alone): exists, children, group, dataset,
//    shape, has_attr and the attr_* readers.
// Every object keeps its file open: File::close() flushes and drops the File's own
// reference, and the file is really closed when its last Group/Dataset goes.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace tessera::h5 {

// A max_dims entry that lets the dataset grow without bound along that axis.
inline constexpr hsize_t unlimited = H5S_UNLIMITED;

// Element types a dataset can hold (stored as the native type of this machine).
enum class DType { f32, f64, i32, i64, u8, u64 };

namespace detail {

template <class T>
struct dtype_of {
  static_assert(sizeof(T) == 0,
                "tessera::h5 supports float, double, int32_t, int64_t, uint8_t, uint64_t");
};
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<std::uint64_t> { static constexpr DType value = DType::u64; };

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) noexcept : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const noexcept { return id_; }
  bool valid() const noexcept { return id_ >= 0; }
  // Closes now; returns the H5*close status (0 when nothing was open).
  herr_t close() noexcept;
  void reset() noexcept { close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// What every object of one file needs for its messages and collective checks.
struct FileState {
  std::string path;
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
};

}  // namespace detail

class Group;
class Dataset;

class File {
 public:
  // Collective; truncates an existing file. `comm` must outlive the File and its objects.
  static File create(const std::string& path, MPI_Comm comm);
  // Collective; any failure is an Error on every rank:
  // "cannot open HDF5 file '<path>': <reason>".
  static File open(const std::string& path, MPI_Comm comm, bool writable = false);

  File() = default;
  File(File&&) noexcept = default;
  File& operator=(File&& other) noexcept;
  ~File();

  Group root() const;
  MPI_Comm comm() const;
  const std::string& path() const;
  bool is_open() const { return handle_.valid(); }
  bool writable() const { return writable_; }
  void flush();  // collective
  void close();  // collective, idempotent

 private:
  detail::Handle handle_;
  std::shared_ptr<const detail::FileState> state_;
  bool writable_ = false;
};

// Attributes, shared by groups and datasets. Scalars are stored as scalar
// attributes, vectors as 1-D ones, strings as variable-length UTF-8 (h5py: str).
class Object {
 public:
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;

  // Absolute path inside the file, e.g. "/model/fc.weight".
  const std::string& path() const { return path_; }
  const std::string& file_path() const { return state_->path; }

  // Collective; replaces an attribute of the same name.
  void set_attr(const std::string& name, const std::string& value) const;
  void set_attr(const std::string& name, const char* value) const {
    set_attr(name, std::string(value));
  }
  void set_attr(const std::string& name, double value) const;
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  void set_attr(const std::string& name, I value) const {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(std::int64_t))
      check_int64_range(name, static_cast<std::uint64_t>(value));
    set_int_attr(name, static_cast<std::int64_t>(value));
  }
  void set_attr(const std::string& name, const std::vector<std::int64_t>& value) const;
  void set_attr(const std::string& name, const std::vector<double>& value) const;
  // A 1-D attribute of variable-length UTF-8 strings (h5py: an array of str).
  void set_attr(const std::string& name, const std::vector<std::string>& value) const;

  bool has_attr(const std::string& name) const;
  std::vector<std::string> attr_names() const;
  // Readers accept any string (variable or fixed length) / integer / number type
  // that converts; a missing attribute or another class of type is an Error.
  std::string attr_string(const std::string& name) const;
  std::int64_t attr_int(const std::string& name) const;
  double attr_double(const std::string& name) const;
  std::vector<std::int64_t> attr_ints(const std::string& name) const;
  std::vector<double> attr_doubles(const std::string& name) const;
  std::vector<std::string> attr_strings(const std::string& name) const;

 protected:
  Object(detail::Handle handle, std::shared_ptr<const detail::FileState> state, std::string path);
  hid_t id() const { return handle_.get(); }
  const detail::FileState& state() const { return *state_; }

  detail::Handle handle_;
  std::shared_ptr<const detail::FileState> state_;
  std::string path_;

 private:
  void set_int_attr(const std::string& name, std::int64_t value) const;
  void check_int64_range(const std::string& name, std::uint64_t value) const;
};

struct DatasetOptions {
  std::vector<hsize_t> chunk;     // empty: none, or a default when chunking is required
  std::vector<hsize_t> max_dims;  // empty: fixed size; h5::unlimited entries: extendible
  int deflate = 0;                // gzip level 0-9; needs chunking (picked if not given)
};

class Group : public Object {
 public:
  // "a/b/c" is relative to this group, "/a/b" to the root.
  bool exists(const std::string& path) const;
  Group group(const std::string& path) const;
  Group require_group(const std::string& path) const;  // collective when it creates
  // Collective: unlinks the object (its space stays in the file, unused).
  void remove(const std::string& path) const;
  std::vector<std::string> children() const;          // link names, sorted
  Dataset dataset(const std::string& path) const;
  template <class T>
  Dataset create_dataset(const std::string& path, std::vector<hsize_t> dims,
                         const DatasetOptions& options = {}) const;

 private:
  Group(detail::Handle handle, std::shared_ptr<const detail::FileState> state, std::string path)
      : Object(std::move(handle), std::move(state), std::move(path)) {}
  Dataset create_dataset_as(const std::string& path, DType type, std::vector<hsize_t> dims,
                            const DatasetOptions& options) const;
  friend class File;
};

class Dataset : public Object {
 public:
  std::vector<hsize_t> shape() const;
  std::vector<hsize_t> max_shape() const;  // h5::unlimited on extendible axes
  DType dtype() const;                     // of the stored elements

  // Whole dataset. Every rank passes data; rank 0's is what is written.
  template <class T>
  void write(const T* data) {
    transfer(detail::dtype_of<T>::value, Mode::write_root, {}, {}, const_cast<T*>(data));
  }
  // Each rank writes its own hyperslab; a rank with nothing to write passes counts of 0.
  template <class T>
  void write_slab(const std::vector<hsize_t>& offset, const std::vector<hsize_t>& count,
                  const T* data) {
    transfer(detail::dtype_of<T>::value, Mode::write_each, offset, count, const_cast<T*>(data));
  }
  // Whole dataset onto every rank.
  template <class T>
  std::vector<T> read() const {
    std::vector<T> out(stored_elements());
    transfer(detail::dtype_of<T>::value, Mode::read_each, {}, {}, out.data());
    return out;
  }
  // Each rank reads its own hyperslab (counts of 0: nothing).
  template <class T>
  std::vector<T> read_slab(const std::vector<hsize_t>& offset,
                           const std::vector<hsize_t>& count) const {
    stored_elements();
    std::vector<T> out(element_count(count));
    transfer(detail::dtype_of<T>::value, Mode::read_each, offset, count, out.data());
    return out;
  }
  void extend(const std::vector<hsize_t>& new_dims);
  // Grows axis 0 by n_rows and writes them; rank 0's rows are written, as in write().
  template <class T>
  void append_rows(const T* rows, hsize_t n_rows) {
    append_rows_as(detail::dtype_of<T>::value, const_cast<T*>(rows), n_rows);
  }

  // HDF5 quietly falls back to independent I/O in some cases, so every transfer
  // asks it what it actually did (this rank's view). Measured with 1.10.8: a rank
  // that selects nothing, and a 1-rank communicator, report the call's collective
  // mode; a T other than the stored type makes every rank go independent
  // ("independent: datatype conversion").
  bool last_io_was_collective() const { return last_io_collective_; }
  const std::string& last_io_report() const { return last_io_report_; }

  static hsize_t element_count(const std::vector<hsize_t>& dims);
  // The element count of the shape, after checking that the file really holds that
  // data in a type tessera writes: a damaged file must not make the reader allocate
  // what its header claims, nor make HDF5 convert an impossible type.
  hsize_t stored_elements() const;

 private:
  enum class Mode { write_root, write_each, read_each };
  Dataset(detail::Handle handle, std::shared_ptr<const detail::FileState> state, std::string path)
      : Object(std::move(handle), std::move(state), std::move(path)) {}
  // Empty offset and count mean the whole dataset.
  void transfer(DType type, Mode mode, std::vector<hsize_t> offset, std::vector<hsize_t> count,
                void* buffer) const;
  void append_rows_as(DType type, void* rows, hsize_t n_rows);
  void record_io_mode(hid_t dxpl) const;

  mutable bool last_io_collective_ = false;
  mutable std::string last_io_report_ = "no transfer yet";
  friend class Group;
};

template <class T>
Dataset Group::create_dataset(const std::string& path, std::vector<hsize_t> dims,
                              const DatasetOptions& options) const {
  return create_dataset_as(path, detail::dtype_of<T>::value, std::move(dims), options);
}

const char* dtype_name(DType type);

}  // namespace tessera::h5
