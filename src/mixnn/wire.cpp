#include "mixnn/wire.hpp"

#include <cstring>

namespace tessera::mixnn {

namespace {

// kind, dtype, dims, pad, step, generation, chunk, chunks, blob bytes
constexpr std::size_t kFixedBytes = 4 + 8 + 4 + 4 + 4 + 8;
constexpr int kMaxDims = 8;

enum : std::uint8_t { kNoTensor = 0, kFloat = 1, kLong = 2, kByte = 3 };

template <class T>
void put(Bytes& out, T value) {
  const auto at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}

struct Reader {
  const Bytes& bytes;
  std::size_t at = 0;
  template <class T>
  T get() {
    if (at + sizeof(T) > bytes.size()) throw PacketError("message is cut short");
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    at += sizeof(T);
    return value;
  }
  const std::uint8_t* take(std::size_t n) {
    if (n > bytes.size() - at) throw PacketError("message is cut short");
    const auto* p = bytes.data() + at;
    at += n;
    return p;
  }
};

}  // namespace

std::size_t encoded_bytes(std::size_t tensor_bytes, int dims, std::size_t blob_bytes) {
  return kFixedBytes + 8 * static_cast<std::size_t>(dims) + tensor_bytes + blob_bytes;
}

Bytes encode(const Message& m) {
  Bytes out;
  std::uint8_t dtype = kNoTensor;
  torch::Tensor t;
  if (m.tensor.defined()) {
    t = m.tensor.contiguous();
    dtype = t.scalar_type() == torch::kInt64 ? kLong : t.scalar_type() == torch::kUInt8 ? kByte : kFloat;
    if (dtype == kFloat) t = t.to(torch::kFloat32);
  }
  const int dims = t.defined() ? static_cast<int>(t.dim()) : 0;
  const std::size_t tensor_bytes = t.defined() ? static_cast<std::size_t>(t.numel()) * t.element_size() : 0;
  out.reserve(encoded_bytes(tensor_bytes, dims, m.blob.size()));
  put<std::uint8_t>(out, static_cast<std::uint8_t>(m.kind));
  put<std::uint8_t>(out, dtype);
  put<std::uint8_t>(out, static_cast<std::uint8_t>(dims));
  put<std::uint8_t>(out, 0);
  put<std::int64_t>(out, m.step);
  put<std::int32_t>(out, m.generation);
  put<std::int32_t>(out, m.chunk);
  put<std::int32_t>(out, m.chunks);
  put<std::uint64_t>(out, m.blob.size());
  for (int d = 0; d < dims; ++d) put<std::int64_t>(out, t.size(d));
  if (tensor_bytes) {
    const auto at = out.size();
    out.resize(at + tensor_bytes);
    std::memcpy(out.data() + at, t.data_ptr(), tensor_bytes);
  }
  out.insert(out.end(), m.blob.begin(), m.blob.end());
  return out;
}

Message decode(const Bytes& bytes) {
  Reader in{bytes};
  Message m;
  const auto kind = in.get<std::uint8_t>();
  if (kind > static_cast<std::uint8_t>(Kind::data)) throw PacketError("unknown message kind");
  m.kind = static_cast<Kind>(kind);
  const auto dtype = in.get<std::uint8_t>();
  const int dims = in.get<std::uint8_t>();
  in.get<std::uint8_t>();
  if (dtype > kByte || dims > kMaxDims || (dtype == kNoTensor && dims != 0)) throw PacketError("bad tensor header");
  m.step = in.get<std::int64_t>();
  m.generation = in.get<std::int32_t>();
  m.chunk = in.get<std::int32_t>();
  m.chunks = in.get<std::int32_t>();
  const auto blob_bytes = in.get<std::uint64_t>();
  if (dtype != kNoTensor) {
    std::vector<std::int64_t> shape(dims);
    std::uint64_t numel = 1;
    for (auto& s : shape) {
      s = in.get<std::int64_t>();
      if (s < 0 || s > (1 << 30)) throw PacketError("bad tensor shape");
      numel *= static_cast<std::uint64_t>(s);
      if (numel > bytes.size()) throw PacketError("message is cut short");
    }
    const auto scalar = dtype == kLong ? torch::kInt64 : dtype == kByte ? torch::kUInt8 : torch::kFloat32;
    const std::size_t element = dtype == kLong ? 8 : dtype == kByte ? 1 : 4;
    const auto* data = in.take(numel * element);
    m.tensor = torch::empty(shape, torch::TensorOptions().dtype(scalar));
    std::memcpy(m.tensor.data_ptr(), data, numel * element);
  }
  const auto* blob = in.take(blob_bytes);
  m.blob.assign(blob, blob + blob_bytes);
  return m;
}

}  // namespace tessera::mixnn
