#include "io/h5.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "io/h5_internal.hpp"

// Transfers are single H5Dread/H5Dwrite calls. HDF5 1.10's MPI-IO driver passes
// byte counts to MPI as int, so one rank moving more than 2 GiB in one call may
// fail; nothing tessera writes today comes near that, so slabs are not split.

namespace tessera::h5 {

using ::tessera::detail::concat;
using detail::check;
using detail::fail;
using detail::FileState;
using detail::Handle;
using detail::shape_text;

namespace detail {

Handle::Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) {
  other.id_ = H5I_INVALID_HID;
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

herr_t Handle::close() noexcept {
  if (id_ < 0 || closer_ == nullptr) return 0;
  herr_t status = closer_(id_);
  id_ = H5I_INVALID_HID;
  return status;
}

namespace {
herr_t take_innermost(unsigned n, const H5E_error2_t* entry, void* data) {
  if (n == 0) {
    auto* out = static_cast<StackError*>(data);
    out->text = entry->desc ? entry->desc : "";
    out->minor = entry->min_num;
  }
  return 0;
}
}  // namespace

StackError innermost_error() {
  StackError out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &out);
  return out;
}

Error error(const FileState& file, const std::string& what) {
  return Error(concat("HDF5 file '", file.path, "': ", what));
}

void fail(const FileState& file, const std::string& what) {
  std::string reason = innermost_error().text;
  if (reason.empty()) throw error(file, what);
  throw error(file, concat(what, ": ", reason));
}

hid_t native_type(DType type) {
  switch (type) {
    case DType::f32: return H5T_NATIVE_FLOAT;
    case DType::f64: return H5T_NATIVE_DOUBLE;
    case DType::i32: return H5T_NATIVE_INT32;
    case DType::i64: return H5T_NATIVE_INT64;
    case DType::u8: return H5T_NATIVE_UINT8;
    case DType::u64: return H5T_NATIVE_UINT64;
  }
  TESSERA_ASSERT(false, "unknown DType");
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? ", " : "") + std::to_string(dims[i]);
  return out + "]";
}

}  // namespace detail

const char* dtype_name(DType type) {
  switch (type) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::u64: return "uint64";
  }
  return "?";
}

namespace {

// Users get our one-line Errors; HDF5's own stack dump on stderr would repeat
// them from every rank.
void silence_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::shared_ptr<const FileState> make_state(const std::string& path, MPI_Comm comm) {
  auto state = std::make_shared<FileState>();
  state->path = path;
  state->comm = comm;
  MPI_Comm_rank(comm, &state->rank);
  MPI_Comm_size(comm, &state->size);
  return state;
}

Handle file_access(const FileState& state) {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), state, "cannot create file access list"),
              H5Pclose);
  check(H5Pset_fapl_mpio(fapl.get(), state.comm, MPI_INFO_NULL), state, "cannot select MPI-IO");
  // Metadata writes are collective anyway; this makes them one MPI write instead
  // of one per rank. All-collective metadata *reads* stay off: they would make
  // every exists()/attr_*() collective, and a rank-0-only read would deadlock.
  check(H5Pset_coll_metadata_write(fapl.get(), true), state, "cannot set collective metadata");
  // Objects keep the file open after File::close(), so RAII order doesn't matter
  // (the MPI-IO default, SEMI, refuses to close while any object is open).
  check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_WEAK), state, "cannot set close degree");
  // The 1.8 format stores attributes over 64 KiB densely; h5py reads it.
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), state,
        "cannot set format version");
  return fapl;
}

std::string errno_text(int err) { return std::strerror(err); }

std::string open_failure(const std::string& path, bool writable, const detail::StackError& hdf5) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) return errno_text(errno);
  if (S_ISDIR(info.st_mode)) return "is a directory";
  if (access(path.c_str(), writable ? R_OK | W_OK : R_OK) != 0) return errno_text(errno);
  if (hdf5.minor == H5E_NOTHDF5) return "not an HDF5 file";
  return hdf5.text.empty() ? "unknown HDF5 error" : hdf5.text;
}

std::string create_failure(const std::string& path, const detail::StackError& hdf5) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0) return concat("directory '", dir, "': ", errno_text(errno));
  if (access(dir.c_str(), W_OK) != 0) return concat("directory '", dir, "': ", errno_text(errno));
  return hdf5.text.empty() ? "unknown HDF5 error" : hdf5.text;
}

std::string join_path(const std::string& base, const std::string& rel) {
  std::string joined = (!rel.empty() && rel[0] == '/') ? rel : base + "/" + rel;
  std::string out;
  std::istringstream parts(joined);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty() || part == ".") continue;
    out += "/" + part;
  }
  return out.empty() ? "/" : out;
}

}  // namespace

// ---------------------------------------------------------------------------
// File

namespace {

// A failure on any rank becomes the same Error on all of them. Ranks whose
// H5Fcreate/H5Fopen succeeded leave that identifier open on purpose: closing is
// collective, and the ranks that failed cannot take part.
hid_t agree_on_file(const FileState& state, hid_t id, const std::string& failure) {
  agree_on_message(state.comm, id < 0 ? failure : std::string());
  return id;
}

}  // namespace

File File::create(const std::string& path, MPI_Comm comm) {
  silence_hdf5();
  auto state = make_state(path, comm);
  Handle fapl = file_access(*state);
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  std::string failure;
  if (id < 0) {
    auto hdf5 = detail::innermost_error();
    failure = concat("cannot create HDF5 file '", path, "': ", create_failure(path, hdf5));
  }
  File file;
  file.handle_ = Handle(agree_on_file(*state, id, failure), H5Fclose);
  file.state_ = std::move(state);
  file.writable_ = true;
  return file;
}

File File::open(const std::string& path, MPI_Comm comm, bool writable) {
  silence_hdf5();
  auto state = make_state(path, comm);
  // A missing file or a folder is reported before MPI-IO tries it (it would print
  // lines of its own); every rank agrees first, so none enters H5Fopen alone.
  struct stat info {};
  const std::string early = stat(path.c_str(), &info) != 0 ? errno_text(errno)
                            : S_ISDIR(info.st_mode)         ? std::string("is a directory")
                                                            : std::string();
  agree_on_message(comm, early.empty() ? early : concat("cannot open HDF5 file '", path, "': ", early));
  Handle fapl = file_access(*state);
  hid_t id = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get());
  std::string failure;
  if (id < 0) {
    auto hdf5 = detail::innermost_error();
    failure = concat("cannot open HDF5 file '", path, "': ", open_failure(path, writable, hdf5));
  }
  File file;
  file.handle_ = Handle(agree_on_file(*state, id, failure), H5Fclose);
  file.state_ = std::move(state);
  file.writable_ = writable;
  return file;
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    try {
      close();
    } catch (...) {
      handle_.reset();
    }
    handle_ = std::move(other.handle_);
    state_ = std::move(other.state_);
    writable_ = other.writable_;
  }
  return *this;
}

File::~File() {
  try {
    close();
  } catch (...) {
    handle_.reset();  // a destructor cannot report; close() explicitly to see errors
  }
}

Group File::root() const {
  TESSERA_REQUIRE(is_open(), "HDF5 file '", path(), "': used after close()");
  Handle group(check(H5Gopen2(handle_.get(), "/", H5P_DEFAULT), *state_,
                     "cannot open the root group"),
               H5Gclose);
  return Group(std::move(group), state_, "/");
}

MPI_Comm File::comm() const { return state_ ? state_->comm : MPI_COMM_NULL; }

const std::string& File::path() const {
  static const std::string none;
  return state_ ? state_->path : none;
}

void File::flush() {
  TESSERA_REQUIRE(is_open(), "HDF5 file '", path(), "': used after close()");
  check(H5Fflush(handle_.get(), H5F_SCOPE_GLOBAL), *state_, "cannot flush");
}

void File::close() {
  if (!is_open()) return;
  // With objects still open the file outlives this call, so flush now: after
  // close() the data is on disk whatever the caller still holds.
  if (writable_) flush();
  if (handle_.close() < 0) fail(*state_, "cannot close");
}

// ---------------------------------------------------------------------------
// Group

Object::Object(Handle handle, std::shared_ptr<const FileState> state, std::string path)
    : handle_(std::move(handle)), state_(std::move(state)), path_(std::move(path)) {}

bool Group::exists(const std::string& path) const {
  std::string full = join_path(path_, path);
  if (full == "/") return true;
  // H5Lexists fails, rather than answers false, when a parent is missing, so
  // walk down one link at a time and require every parent to be a group.
  std::size_t end = 0;
  while (end != std::string::npos) {
    end = full.find('/', end + 1);
    std::string prefix = full.substr(0, end);
    htri_t found = check(H5Lexists(id(), prefix.c_str(), H5P_DEFAULT), state(),
                         "cannot look up '", prefix, "'");
    if (!found) return false;
    if (end == std::string::npos) return true;
    H5O_info_t info;
    check(H5Oget_info_by_name2(id(), prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT),
          state(), "cannot inspect '", prefix, "'");
    if (info.type != H5O_TYPE_GROUP) return false;
  }
  return true;
}

namespace {

// Opens whatever `full` names and requires it to be of `kind`.
Handle open_object(const Group& from, hid_t loc, const FileState& state, const std::string& full,
                   H5I_type_t kind) {
  const char* noun = kind == H5I_GROUP ? "group" : "dataset";
  if (full != "/" && !from.exists(full))
    throw detail::error(state, concat("cannot open ", noun, " '", full, "': not found"));
  Handle object(check(H5Oopen(loc, full.c_str(), H5P_DEFAULT), state, "cannot open ", noun, " '",
                      full, "'"),
                H5Oclose);
  H5I_type_t type = H5Iget_type(object.get());
  if (type != kind)
    throw detail::error(state, concat("cannot open ", noun, " '", full, "': it is not a ", noun));
  return object;
}

Handle intermediate_groups(const FileState& state) {
  Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), state, "cannot create link list"), H5Pclose);
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), state, "cannot set link list");
  return lcpl;
}

}  // namespace

Group Group::group(const std::string& path) const {
  std::string full = join_path(path_, path);
  return Group(open_object(*this, id(), state(), full, H5I_GROUP), state_, full);
}

Group Group::require_group(const std::string& path) const {
  std::string full = join_path(path_, path);
  if (exists(full)) return group(full);
  Handle lcpl = intermediate_groups(state());
  Handle created(check(H5Gcreate2(id(), full.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                       state(), "cannot create group '", full, "'"),
                 H5Gclose);
  return Group(std::move(created), state_, full);
}

void Group::remove(const std::string& path) const {
  std::string full = join_path(path_, path);
  check(H5Ldelete(id(), full.c_str(), H5P_DEFAULT), state(), "cannot remove '", full, "'");
}

namespace {
herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  check(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names), state(),
        "cannot list group '", path_, "'");
  return names;
}

Dataset Group::dataset(const std::string& path) const {
  std::string full = join_path(path_, path);
  return Dataset(open_object(*this, id(), state(), full, H5I_DATASET), state_, full);
}

namespace {

// About 64 KiB of whole rows: within HDF5's advice (10 KiB-1 MiB), and small
// enough that a short log, whose one chunk is written whole, stays small.
std::vector<hsize_t> default_chunk(const std::vector<hsize_t>& dims,
                                   const std::vector<hsize_t>& max_dims, hsize_t element_size) {
  std::vector<hsize_t> chunk(dims.size(), 1);
  hsize_t row_bytes = element_size;
  for (std::size_t i = 1; i < dims.size(); ++i) {
    chunk[i] = std::max<hsize_t>(dims[i], 1);
    row_bytes *= chunk[i];
  }
  if (!dims.empty()) {
    hsize_t rows = std::max<hsize_t>((hsize_t{1} << 16) / row_bytes, 1);
    if (max_dims.empty() || max_dims[0] != unlimited) rows = std::min(rows, std::max<hsize_t>(dims[0], 1));
    chunk[0] = rows;
  }
  return chunk;
}

}  // namespace

Dataset Group::create_dataset_as(const std::string& path, DType type, std::vector<hsize_t> dims,
                                 const DatasetOptions& options) const {
  std::string full = join_path(path_, path);
  auto bad = [&](const std::string& why) {
    return detail::error(state(), concat("cannot create dataset '", full, "': ", why));
  };
  const std::size_t rank = dims.size();
  const std::vector<hsize_t>& max_dims = options.max_dims;
  if (!max_dims.empty() && max_dims.size() != rank)
    throw bad(concat("max_dims ", shape_text(max_dims), " and dims ", shape_text(dims), " differ in rank"));
  bool extendible = false;
  for (std::size_t i = 0; i < max_dims.size(); ++i) {
    if (max_dims[i] != unlimited && max_dims[i] < dims[i])
      throw bad(concat("max_dims ", shape_text(max_dims), " below dims ", shape_text(dims)));
    extendible = extendible || max_dims[i] != dims[i];
  }
  if (!options.chunk.empty() && options.chunk.size() != rank)
    throw bad(concat("chunk ", shape_text(options.chunk), " and dims ", shape_text(dims), " differ in rank"));
  for (hsize_t c : options.chunk)
    if (c == 0) throw bad(concat("chunk ", shape_text(options.chunk), " has a zero extent"));
  if (options.deflate < 0 || options.deflate > 9)
    throw bad(concat("deflate level ", options.deflate, " is not in 0..9"));
  if (rank == 0 && (extendible || options.deflate > 0 || !options.chunk.empty()))
    throw bad("a scalar dataset cannot be chunked, compressed or extended");
  if (exists(full)) throw bad("it already exists");

  hid_t element = detail::native_type(type);
  Handle space(check(H5Screate_simple(static_cast<int>(rank), dims.data(),
                                      max_dims.empty() ? nullptr : max_dims.data()),
                     state(), "cannot create dataspace ", shape_text(dims), " for '", full, "'"),
               H5Sclose);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), state(), "cannot create dataset list"), H5Pclose);
  std::vector<hsize_t> chunk = options.chunk;
  if (chunk.empty() && (extendible || options.deflate > 0))
    chunk = default_chunk(dims, max_dims, H5Tget_size(element));
  if (!chunk.empty())
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(rank), chunk.data()), state(),
          "cannot set chunk ", shape_text(chunk), " for '", full, "'");
  if (options.deflate > 0)
    check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate)), state(),
          "cannot set compression for '", full, "'");
  Handle lcpl = intermediate_groups(state());
  Handle created(check(H5Dcreate2(id(), full.c_str(), element, space.get(), lcpl.get(), dcpl.get(),
                                  H5P_DEFAULT),
                       state(), "cannot create dataset '", full, "'"),
                 H5Dclose);
  return Dataset(std::move(created), state_, full);
}

}  // namespace tessera::h5
