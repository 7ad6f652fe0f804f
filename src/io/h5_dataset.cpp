#include <algorithm>
#include <utility>

#include "io/h5.hpp"
#include "io/h5_internal.hpp"

namespace tessera::h5 {

using ::tessera::detail::concat;
using detail::check;
using detail::FileState;
using detail::Handle;
using detail::shape_text;

// ---------------------------------------------------------------------------
// Dataset

hsize_t Dataset::element_count(const std::vector<hsize_t>& dims) {
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  return n;
}

namespace {
std::vector<hsize_t> extent(hid_t dataset, const FileState& state, const std::string& path,
                            bool maximum) {
  Handle space(check(H5Dget_space(dataset), state, "cannot get the shape of '", path, "'"), H5Sclose);
  int rank = check(H5Sget_simple_extent_ndims(space.get()), state, "cannot get the rank of '", path, "'");
  std::vector<hsize_t> dims(rank), max_dims(rank);
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), max_dims.data()), state,
        "cannot get the shape of '", path, "'");
  return maximum ? max_dims : dims;
}
}  // namespace

std::vector<hsize_t> Dataset::shape() const { return extent(id(), state(), path_, false); }

std::vector<hsize_t> Dataset::max_shape() const { return extent(id(), state(), path_, true); }

DType Dataset::dtype() const {
  Handle type(check(H5Dget_type(id()), state(), "cannot get the type of '", path_, "'"), H5Tclose);
  for (DType candidate : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::u64}) {
    htri_t same = check(H5Tequal(type.get(), detail::native_type(candidate)), state(),
                        "cannot compare the type of '", path_, "'");
    if (same) return candidate;
  }
  throw detail::error(state(), concat("dataset '", path_, "' has an element type tessera does not use"));
}

hsize_t Dataset::stored_elements() const {
  dtype();  // an element type tessera does not write is refused here
  const auto count = element_count(shape());
  Handle type(check(H5Dget_type(id()), state(), "cannot get the type of '", path_, "'"), H5Tclose);
  Handle plist(check(H5Dget_create_plist(id()), state(), "cannot get the layout of '", path_, "'"), H5Pclose);
  // tessera's data is stored whole: parallel HDF5 allocates a contiguous dataset's
  // storage, and every chunk of a chunked one, when the dataset is made. Less
  // storage than the shape needs means the header lies (or chunks were never
  // written, and would read as fill values): refused before anything is allocated,
  // however the data is laid out. Unchecked, a chunked dataset of a few bytes could
  // claim any size up to the allocator's limit. Compressed chunks may expand up to
  // kMaxExpansion times (deflate's bound is about 1032).
  constexpr double kMaxExpansion = 1100;
  const double needed = static_cast<double>(count) * static_cast<double>(H5Tget_size(type.get()));
  // A damaged header can also claim storage that the file does not have: no dataset of
  // a file opened to read stores more than the file holds. (A file open for writing
  // may not have all of its data on disk yet, and MPI-IO does not report its size.)
  Handle file(check(H5Iget_file_id(id()), state(), "cannot get the file of '", path_, "'"), H5Fclose);
  unsigned intent = 0;
  check(H5Fget_intent(file.get(), &intent), state(), "cannot get how the file of '", path_, "' was opened");
  double stored = static_cast<double>(H5Dget_storage_size(id()));
  if ((intent & H5F_ACC_RDWR) == 0) {
    hsize_t file_size = 0;
    check(H5Fget_filesize(file.get(), &file_size), state(), "cannot get the size of the file of '", path_, "'");
    stored = std::min(stored, static_cast<double>(file_size));
  }
  const bool filtered = H5Pget_layout(plist.get()) == H5D_CHUNKED && H5Pget_nfilters(plist.get()) > 0;
  if (stored * (filtered ? kMaxExpansion : 1.0) < needed)
    throw detail::error(state(), concat("dataset '", path_, "' claims ", shape_text(shape()), " elements (", needed,
                                        " bytes) but the file stores ", stored, filtered ? " compressed" : "",
                                        " bytes: a damaged file"));
  return count;
}

void Dataset::transfer(DType type, Mode mode, std::vector<hsize_t> offset,
                       std::vector<hsize_t> count, void* buffer) const {
  const bool writing = mode != Mode::read_each;
  const char* verb = writing ? "write" : "read";
  std::vector<hsize_t> dims = shape();
  const bool whole = offset.empty() && count.empty();
  if (whole) {
    offset.assign(dims.size(), 0);
    count = dims;
  } else {
    // Slabs differ by rank, so one rank's mistake must stop every rank before
    // the collective call, or the others would wait in it for ever.
    std::string problem;
    bool fits = offset.size() == dims.size() && count.size() == dims.size();
    for (std::size_t i = 0; fits && i < dims.size(); ++i)
      fits = count[i] <= dims[i] && offset[i] <= dims[i] - count[i];
    if (!fits)
      problem = detail::error(state(), concat("cannot ", verb, " '", path_, "' at offset ",
                                              shape_text(offset), " count ", shape_text(count),
                                              ": outside its shape ", shape_text(dims),
                                              state().size > 1 ? concat(" (rank ", state().rank, ")") : ""))
                    .what();
    if (mode != Mode::write_root) agree_on_message(state().comm, problem);
    else if (!problem.empty()) throw Error(problem);
  }
  // A zero-size contiguous dataset has no address in the file, and HDF5 1.10 fails
  // even an empty transfer on it ("addr overflow"); every rank sees the same shape.
  if (element_count(dims) == 0) {
    last_io_collective_ = true;
    last_io_report_ = "nothing to transfer (empty dataset)";
    return;
  }
  const bool selects = (mode != Mode::write_root || state().rank == 0) && element_count(count) > 0;

  Handle file_space(check(H5Dget_space(id()), state(), "cannot get the shape of '", path_, "'"),
                    H5Sclose);
  Handle memory_space;
  if (!selects) {
    check(H5Sselect_none(file_space.get()), state(), "cannot select in '", path_, "'");
    const hsize_t one = 1;
    memory_space = Handle(check(H5Screate_simple(1, &one, nullptr), state(), "cannot create dataspace"),
                          H5Sclose);
    check(H5Sselect_none(memory_space.get()), state(), "cannot select in memory");
  } else {
    if (!whole)
      check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset.data(), nullptr,
                                count.data(), nullptr),
            state(), "cannot select ", shape_text(count), " at ", shape_text(offset), " in '", path_, "'");
    memory_space = Handle(check(count.empty() ? H5Screate(H5S_SCALAR)
                                              : H5Screate_simple(static_cast<int>(count.size()),
                                                                 count.data(), nullptr),
                                state(), "cannot create dataspace ", shape_text(count)),
                          H5Sclose);
  }
  Handle dxpl(check(H5Pcreate(H5P_DATASET_XFER), state(), "cannot create transfer list"), H5Pclose);
  check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), state(), "cannot request collective I/O");
  // A rank with nothing to move may have no buffer at all (an empty vector's data()).
  static char nothing = 0;
  if (buffer == nullptr) buffer = &nothing;
  hid_t memory_type = detail::native_type(type);
  herr_t status = writing ? H5Dwrite(id(), memory_type, memory_space.get(), file_space.get(),
                                     dxpl.get(), buffer)
                          : H5Dread(id(), memory_type, memory_space.get(), file_space.get(),
                                    dxpl.get(), buffer);
  check(status, state(), "cannot ", verb, " ", dtype_name(type), " ",
        whole ? "data" : concat("slab ", shape_text(count), " at ", shape_text(offset)),
        writing ? " to '" : " from '", path_, "'");
  record_io_mode(dxpl.get());
}

void Dataset::record_io_mode(hid_t dxpl) const {
  // HDF5 1.10 answers for this rank only. Measured with 1.10.8: a rank that
  // selects nothing, and a single-rank communicator, still report the collective
  // mode of the call; a type conversion makes every rank fall back to independent.
  H5D_mpio_actual_io_mode_t mode = H5D_MPIO_NO_COLLECTIVE;
  uint32_t local_cause = 0, global_cause = 0;
  check(H5Pget_mpio_actual_io_mode(dxpl, &mode), state(), "cannot query the I/O mode of '", path_, "'");
  check(H5Pget_mpio_no_collective_cause(dxpl, &local_cause, &global_cause), state(),
        "cannot query the I/O mode of '", path_, "'");
  last_io_collective_ = mode == H5D_MPIO_CONTIGUOUS_COLLECTIVE || mode == H5D_MPIO_CHUNK_COLLECTIVE;
  switch (mode) {
    case H5D_MPIO_CONTIGUOUS_COLLECTIVE: last_io_report_ = "collective (contiguous)"; return;
    case H5D_MPIO_CHUNK_COLLECTIVE: last_io_report_ = "collective (chunked)"; return;
    case H5D_MPIO_CHUNK_MIXED: last_io_report_ = "mixed: some chunks independent"; return;
    case H5D_MPIO_CHUNK_INDEPENDENT: last_io_report_ = "independent (chunked)"; return;
    case H5D_MPIO_NO_COLLECTIVE: break;
  }
  static const std::pair<uint32_t, const char*> causes[] = {
      {H5D_MPIO_SET_INDEPENDENT, "independent I/O requested"},
      {H5D_MPIO_DATATYPE_CONVERSION, "datatype conversion"},
      {H5D_MPIO_DATA_TRANSFORMS, "data transforms"},
      {H5D_MPIO_MPI_OPT_TYPES_ENV_VAR_DISABLED, "MPI derived types disabled"},
      {H5D_MPIO_NOT_SIMPLE_OR_SCALAR_DATASPACES, "dataspace neither simple nor scalar"},
      {H5D_MPIO_NOT_CONTIGUOUS_OR_CHUNKED_DATASET, "layout neither contiguous nor chunked"},
      {H5D_MPIO_PARALLEL_FILTERED_WRITES_DISABLED, "parallel filtered writes disabled"},
      {H5D_MPIO_ERROR_WHILE_CHECKING_COLLECTIVE_POSSIBLE, "error while checking"}};
  std::string why;
  for (const auto& [bit, text] : causes)
    if ((local_cause | global_cause) & bit) why += (why.empty() ? "" : ", ") + std::string(text);
  last_io_report_ = "independent: " + (why.empty() ? std::string("no cause given") : why);
}

void Dataset::extend(const std::vector<hsize_t>& new_dims) {
  std::vector<hsize_t> max_dims = max_shape();
  std::string problem;
  bool fits = new_dims.size() == max_dims.size();
  for (std::size_t i = 0; fits && i < new_dims.size(); ++i)
    fits = max_dims[i] == unlimited || new_dims[i] <= max_dims[i];
  if (!fits)
    problem = detail::error(state(), concat("cannot extend '", path_, "' to ", shape_text(new_dims),
                                            ": its maximum shape is ", shape_text(max_dims)))
                  .what();
  agree_on_message(state().comm, problem);
  check(H5Dset_extent(id(), new_dims.data()), state(), "cannot extend '", path_, "' to ",
        shape_text(new_dims));
}

void Dataset::append_rows_as(DType type, void* rows, hsize_t n_rows) {
  std::vector<hsize_t> dims = shape();
  if (dims.empty())
    throw detail::error(state(), concat("cannot append rows to scalar dataset '", path_, "'"));
  if (n_rows == 0) return;
  std::vector<hsize_t> offset(dims.size(), 0), count = dims, grown = dims;
  offset[0] = dims[0];
  count[0] = n_rows;
  grown[0] += n_rows;
  extend(grown);
  transfer(type, Mode::write_root, offset, count, rows);
}

}  // namespace tessera::h5
