// Helpers shared by the h5 wrapper's sources; not for callers.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/h5.hpp"

namespace tessera::h5::detail {

// The innermost message of HDF5's current error stack, which names the actual
// cause ("file signature not found") where the outer ones only repeat the call.
struct StackError {
  std::string text;
  hid_t minor = H5I_INVALID_HID;
};
StackError innermost_error();

// "HDF5 file '<path>': <what>", with ": <HDF5's reason>" appended by fail().
Error error(const FileState& file, const std::string& what);
[[noreturn]] void fail(const FileState& file, const std::string& what);

// Returns `result`, or fails with the message built from `what` when HDF5 reported
// an error (every HDF5 status and identifier is negative on failure).
template <class R, class... Parts>
R check(R result, const FileState& file, const Parts&... what) {
  if (result < 0) fail(file, ::tessera::detail::concat(what...));
  return result;
}

hid_t native_type(DType type);

// "[2, 3]"
std::string shape_text(const std::vector<hsize_t>& dims);

}  // namespace tessera::h5::detail
