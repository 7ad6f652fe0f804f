// Attributes of groups and datasets.
#include <cstring>
#include <limits>

#include "io/h5.hpp"
#include "io/h5_internal.hpp"

namespace tessera::h5 {

using ::tessera::detail::concat;
using detail::check;
using detail::fail;
using detail::Handle;

namespace {

struct AttrTarget {
  hid_t object;
  const detail::FileState& file;
  const std::string& path;
  const std::string& name;

  std::string describe() const { return concat("attribute '", name, "' of '", path, "'"); }
};

// Parallel HDF5 requires every rank to make the same metadata changes with the
// same values; callers guarantee that, this only keeps the calls in step.
void write_attr(const AttrTarget& at, hid_t type, hid_t space, const void* data) {
  static const char nothing = 0;
  if (data == nullptr) data = &nothing;  // an empty vector's data(); HDF5 rejects null
  htri_t present = check(H5Aexists(at.object, at.name.c_str()), at.file, "cannot look up ",
                         at.describe());
  if (present)
    check(H5Adelete(at.object, at.name.c_str()), at.file, "cannot replace ", at.describe());
  Handle attr(check(H5Acreate2(at.object, at.name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                    at.file, "cannot create ", at.describe()),
              H5Aclose);
  check(H5Awrite(attr.get(), type, data), at.file, "cannot write ", at.describe());
}

Handle scalar_space(const AttrTarget& at) {
  return Handle(check(H5Screate(H5S_SCALAR), at.file, "cannot create dataspace for ", at.describe()),
                H5Sclose);
}

Handle vector_space(const AttrTarget& at, std::size_t n) {
  const hsize_t dims = n;
  return Handle(check(H5Screate_simple(1, &dims, nullptr), at.file, "cannot create dataspace for ",
                      at.describe()),
                H5Sclose);
}

// An open attribute with what the readers need to know about it.
struct OpenAttr {
  Handle attr, type;
  H5T_class_t type_class;
  hssize_t points;
};

OpenAttr open_attr(const AttrTarget& at) {
  htri_t present = check(H5Aexists(at.object, at.name.c_str()), at.file, "cannot look up ",
                         at.describe());
  if (!present) throw detail::error(at.file, concat("cannot read ", at.describe(), ": not found"));
  OpenAttr out;
  out.attr = Handle(check(H5Aopen(at.object, at.name.c_str(), H5P_DEFAULT), at.file, "cannot open ",
                          at.describe()),
                    H5Aclose);
  out.type = Handle(check(H5Aget_type(out.attr.get()), at.file, "cannot get the type of ",
                          at.describe()),
                    H5Tclose);
  out.type_class = H5Tget_class(out.type.get());
  check(out.type_class, at.file, "cannot get the type of ", at.describe());
  Handle space(check(H5Aget_space(out.attr.get()), at.file, "cannot get the shape of ", at.describe()),
               H5Sclose);
  out.points = check(H5Sget_simple_extent_npoints(space.get()), at.file,
                     "cannot get the size of ", at.describe());
  return out;
}

// Reads a numeric attribute converted to `memory_type`, `scalar` requiring one value.
template <class T>
std::vector<T> read_numbers(const AttrTarget& at, hid_t memory_type, bool integers_only,
                            bool scalar) {
  OpenAttr open = open_attr(at);
  bool numeric = open.type_class == H5T_INTEGER || (!integers_only && open.type_class == H5T_FLOAT);
  if (!numeric)
    throw detail::error(at.file, concat("cannot read ", at.describe(), ": it is not ",
                                        integers_only ? "an integer" : "a number"));
  if (scalar && open.points != 1)
    throw detail::error(at.file, concat("cannot read ", at.describe(), ": it holds ", open.points,
                                        " values, not one"));
  std::vector<T> values(static_cast<std::size_t>(open.points));
  if (!values.empty())
    check(H5Aread(open.attr.get(), memory_type, values.data()), at.file, "cannot read ",
          at.describe());
  return values;
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

// h5py reads variable-length UTF-8 strings as str; fixed-length ones it returns
// as bytes, which every Python reader would have to decode.
void Object::set_attr(const std::string& name, const std::string& value) const {
  AttrTarget at{id(), state(), path_, name};
  Handle type(check(H5Tcopy(H5T_C_S1), state(), "cannot create string type for ", at.describe()),
              H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), state(), "cannot size ", at.describe());
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), state(), "cannot set UTF-8 for ", at.describe());
  Handle space = scalar_space(at);
  const char* text = value.c_str();
  write_attr(at, type.get(), space.get(), &text);
}

void Object::set_attr(const std::string& name, const std::vector<std::string>& value) const {
  AttrTarget at{id(), state(), path_, name};
  Handle type(check(H5Tcopy(H5T_C_S1), state(), "cannot create string type for ", at.describe()),
              H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), state(), "cannot size ", at.describe());
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), state(), "cannot set UTF-8 for ", at.describe());
  std::vector<const char*> texts;
  for (const auto& v : value) texts.push_back(v.c_str());
  write_attr(at, type.get(), vector_space(at, value.size()).get(), texts.data());
}

void Object::set_attr(const std::string& name, double value) const {
  AttrTarget at{id(), state(), path_, name};
  write_attr(at, H5T_NATIVE_DOUBLE, scalar_space(at).get(), &value);
}

void Object::set_int_attr(const std::string& name, std::int64_t value) const {
  AttrTarget at{id(), state(), path_, name};
  write_attr(at, H5T_NATIVE_INT64, scalar_space(at).get(), &value);
}

void Object::check_int64_range(const std::string& name, std::uint64_t value) const {
  if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw detail::error(state(), concat("cannot write attribute '", name, "' of '", path_, "': ",
                                        value, " does not fit in int64"));
}

void Object::set_attr(const std::string& name, const std::vector<std::int64_t>& value) const {
  AttrTarget at{id(), state(), path_, name};
  write_attr(at, H5T_NATIVE_INT64, vector_space(at, value.size()).get(), value.data());
}

void Object::set_attr(const std::string& name, const std::vector<double>& value) const {
  AttrTarget at{id(), state(), path_, name};
  write_attr(at, H5T_NATIVE_DOUBLE, vector_space(at, value.size()).get(), value.data());
}

bool Object::has_attr(const std::string& name) const {
  return check(H5Aexists(id(), name.c_str()), state(), "cannot look up attribute '", name, "' of '",
               path_, "'") > 0;
}

std::vector<std::string> Object::attr_names() const {
  std::vector<std::string> names;
  check(H5Aiterate2(id(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attr_name, &names), state(),
        "cannot list the attributes of '", path_, "'");
  return names;
}

std::string Object::attr_string(const std::string& name) const {
  AttrTarget at{id(), state(), path_, name};
  OpenAttr open = open_attr(at);
  if (open.type_class != H5T_STRING)
    throw detail::error(state(), concat("cannot read ", at.describe(), ": it is not a string"));
  if (open.points != 1)
    throw detail::error(state(), concat("cannot read ", at.describe(), ": it holds ", open.points,
                                        " strings, not one"));
  htri_t variable = check(H5Tis_variable_str(open.type.get()), state(), "cannot inspect ",
                          at.describe());
  if (variable) {
    Handle memory(check(H5Tcopy(H5T_C_S1), state(), "cannot create string type"), H5Tclose);
    check(H5Tset_size(memory.get(), H5T_VARIABLE), state(), "cannot size string type");
    H5T_cset_t cset = check(H5Tget_cset(open.type.get()), state(), "cannot inspect ", at.describe());
    check(H5Tset_cset(memory.get(), cset), state(), "cannot set charset");
    char* text = nullptr;
    check(H5Aread(open.attr.get(), memory.get(), &text), state(), "cannot read ", at.describe());
    std::string value = text ? text : "";
    H5free_memory(text);  // allocated by HDF5's allocator, so freed by it
    return value;
  }
  size_t size = H5Tget_size(open.type.get());
  if (size == 0) fail(state(), concat("cannot get the size of ", at.describe()));
  std::vector<char> buffer(size + 1, '\0');
  check(H5Aread(open.attr.get(), open.type.get(), buffer.data()), state(), "cannot read ",
        at.describe());
  std::string value(buffer.data(), strnlen(buffer.data(), size));
  if (H5Tget_strpad(open.type.get()) == H5T_STR_SPACEPAD)
    value.erase(value.find_last_not_of(' ') + 1);
  return value;
}

std::vector<std::string> Object::attr_strings(const std::string& name) const {
  AttrTarget at{id(), state(), path_, name};
  OpenAttr open = open_attr(at);
  if (open.type_class != H5T_STRING ||
      check(H5Tis_variable_str(open.type.get()), state(), "cannot inspect ", at.describe()) <= 0)
    throw detail::error(state(), concat("cannot read ", at.describe(), ": it is not variable-length strings"));
  Handle memory(check(H5Tcopy(H5T_C_S1), state(), "cannot create string type"), H5Tclose);
  check(H5Tset_size(memory.get(), H5T_VARIABLE), state(), "cannot size string type");
  check(H5Tset_cset(memory.get(), check(H5Tget_cset(open.type.get()), state(), "cannot inspect ", at.describe())),
        state(), "cannot set charset");
  std::vector<char*> texts(static_cast<std::size_t>(open.points), nullptr);
  if (!texts.empty())
    check(H5Aread(open.attr.get(), memory.get(), texts.data()), state(), "cannot read ", at.describe());
  std::vector<std::string> values;
  for (char* text : texts) {
    values.emplace_back(text ? text : "");
    H5free_memory(text);  // allocated by HDF5's allocator, so freed by it
  }
  return values;
}

std::int64_t Object::attr_int(const std::string& name) const {
  AttrTarget at{id(), state(), path_, name};
  return read_numbers<std::int64_t>(at, H5T_NATIVE_INT64, true, true)[0];
}

double Object::attr_double(const std::string& name) const {
  AttrTarget at{id(), state(), path_, name};
  return read_numbers<double>(at, H5T_NATIVE_DOUBLE, false, true)[0];
}

std::vector<std::int64_t> Object::attr_ints(const std::string& name) const {
  AttrTarget at{id(), state(), path_, name};
  return read_numbers<std::int64_t>(at, H5T_NATIVE_INT64, true, false);
}

std::vector<double> Object::attr_doubles(const std::string& name) const {
  AttrTarget at{id(), state(), path_, name};
  return read_numbers<double>(at, H5T_NATIVE_DOUBLE, false, false);
}

}  // namespace tessera::h5
