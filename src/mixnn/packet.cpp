#include "mixnn/packet.hpp"

#include <sodium.h>

#include <cstring>
#include <mutex>

namespace tessera::mixnn {

namespace {

static_assert(crypto_box_SEALBYTES == 48 && crypto_box_PUBLICKEYBYTES == 32 && crypto_box_SECRETKEYBYTES == 32);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kNonceBytes &&
              crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagBytes &&
              crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32 && crypto_stream_xchacha20_KEYBYTES == 32);

struct Slot {
  std::int32_t next = 0;
  Op op = Op::forward;
  Key stream_key{}, in_key{}, out_key{};
  std::array<std::uint8_t, kTagBytes> tag{};
};

Bytes encode(const Slot& s) {
  Bytes b(kSlotPlainBytes, 0);
  std::uint8_t* p = b.data();
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(static_cast<std::uint32_t>(s.next) >> (8 * i));
  p[4] = static_cast<std::uint8_t>(s.op);
  std::memcpy(p + 8, s.stream_key.data(), 32);
  std::memcpy(p + 40, s.in_key.data(), 32);
  std::memcpy(p + 72, s.out_key.data(), 32);
  std::memcpy(p + 104, s.tag.data(), kTagBytes);
  return b;
}

Slot decode(const std::uint8_t* p) {
  Slot s;
  std::uint32_t next = 0;
  for (int i = 0; i < 4; ++i) next |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  s.next = static_cast<std::int32_t>(next);
  if (p[4] > static_cast<std::uint8_t>(Op::report)) throw PacketError("unknown op");
  s.op = static_cast<Op>(p[4]);
  std::memcpy(s.stream_key.data(), p + 8, 32);
  std::memcpy(s.in_key.data(), p + 40, 32);
  std::memcpy(s.out_key.data(), p + 72, 32);
  std::memcpy(s.tag.data(), p + 104, kTagBytes);
  return s;
}


// XORs the header's bytes from kSlotBytes on with the keystream of `key` (a fresh
// key per hop and packet, so the all-zero nonce is never reused with it).
void xor_rest(std::uint8_t* rest, std::size_t bytes, const Key& key) {
  const std::array<std::uint8_t, crypto_stream_xchacha20_NONCEBYTES> nonce{};
  crypto_stream_xchacha20_xor(rest, rest, bytes, nonce.data(), key.data());
}

constexpr std::size_t kRestBytes = kHeaderBytes - kSlotBytes;

// A slot under a slot key: nonce, AEAD of the plain slot, random filler to kSlotBytes.
constexpr std::size_t kSymmetricSlotBytes = kNonceBytes + kSlotPlainBytes + kTagBytes;
static_assert(kSymmetricSlotBytes <= kSlotBytes, "a symmetric slot fits where a sealed box does");

void seal_slot(std::uint8_t* slot, const Bytes& plain, const Hop& hop) {
  if (!hop.has_slot_key) {
    crypto_box_seal(slot, plain.data(), plain.size(), hop.public_key.data());
    return;
  }
  randombytes_buf(slot, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(slot + kNonceBytes, &written, plain.data(), plain.size(), nullptr, 0,
                                             nullptr, slot, hop.slot_key.data());
  randombytes_buf(slot + kSymmetricSlotBytes, kSlotBytes - kSymmetricSlotBytes);
}

}  // namespace

Key random_key() {
  init_sodium();
  Key k;
  randombytes_buf(k.data(), k.size());
  return k;
}

bool open_slot(const std::uint8_t* slot, const KeyPair& keys, const std::vector<Key>& slot_keys, std::uint8_t* plain) {
  unsigned long long read = 0;
  for (const auto& key : slot_keys)
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &read, nullptr, slot + kNonceBytes,
                                                   kSlotPlainBytes + kTagBytes, nullptr, 0, slot, key.data()) == 0)
      return true;
  return crypto_box_seal_open(plain, slot, kSlotBytes, keys.public_key.data(), keys.secret_key.data()) == 0;
}

void init_sodium() {
  static std::once_flag once;
  static int result = 0;
  std::call_once(once, [] { result = sodium_init(); });
  if (result < 0) throw std::runtime_error("libsodium could not be initialised");
}

KeyPair KeyPair::generate() {
  init_sodium();
  KeyPair k;
  crypto_box_keypair(k.public_key.data(), k.secret_key.data());
  return k;
}

std::size_t packet_bytes(std::size_t message_bytes) {
  return kHeaderBytes + kNonceBytes + kLengthBytes + message_bytes + kTagBytes;
}

Onion build_onion(const std::vector<Hop>& route, Op op) {
  init_sodium();
  if (route.empty() || route.size() > static_cast<std::size_t>(kMaxHops))
    throw std::invalid_argument("a route has 1 to " + std::to_string(kMaxHops) + " hops, not " +
                                std::to_string(route.size()));
  const std::size_t n = route.size();
  std::vector<Slot> slots(n);
  for (std::size_t i = 0; i < n; ++i) {
    slots[i].next = i + 1 < n ? route[i + 1].address : kToDesigner;
    slots[i].op = op;
    slots[i].stream_key = random_key();
    slots[i].in_key = i == 0 ? random_key() : slots[i - 1].out_key;
    slots[i].out_key = random_key();
    randombytes_buf(slots[i].tag.data(), kTagBytes);
  }
  // From the last hop back: header_i = seal_i || stream_i XOR header_{i+1}[0, rest).
  // Beyond the last hop's slot the header is random filler.
  Bytes header(kHeaderBytes);
  randombytes_buf(header.data(), header.size());
  for (std::size_t i = n; i-- > 0;) {
    Bytes next(kHeaderBytes);
    std::memcpy(next.data() + kSlotBytes, header.data(), kRestBytes);
    xor_rest(next.data() + kSlotBytes, kRestBytes, slots[i].stream_key);
    seal_slot(next.data(), encode(slots[i]), route[i]);
    header = std::move(next);
  }
  return {header, slots.front().in_key, slots.back().out_key};
}

Bytes seal_packet(const Bytes& header, const Key& key, const Bytes& message, std::size_t message_bytes) {
  init_sodium();
  if (header.size() != kHeaderBytes) throw std::invalid_argument("a header of the wrong size");
  if (message.size() > message_bytes)
    throw std::invalid_argument("a message of " + std::to_string(message.size()) + " bytes in packets of " +
                                std::to_string(message_bytes));
  // Built in place: header, nonce, then the plaintext (length, message, the zero
  // padding the packet starts with), encrypted where it lies.
  Bytes packet(packet_bytes(message_bytes), 0);
  std::copy(header.begin(), header.end(), packet.begin());
  std::uint8_t* nonce = packet.data() + kHeaderBytes;
  randombytes_buf(nonce, kNonceBytes);
  std::uint8_t* plain = nonce + kNonceBytes;
  const auto length = static_cast<std::uint32_t>(message.size());
  for (int i = 0; i < 4; ++i) plain[i] = static_cast<std::uint8_t>(length >> (8 * i));
  std::copy(message.begin(), message.end(), plain + kLengthBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(plain, &written, plain, kLengthBytes + message_bytes, header.data(),
                                             header.size(), nullptr, nonce, key.data());
  return packet;
}

namespace {

// The payload's message, or PacketError when it was changed.
Bytes open_payload(const Bytes& packet, const Key& key, std::size_t message_bytes) {
  const std::uint8_t* nonce = packet.data() + kHeaderBytes;
  Bytes plain(kLengthBytes + message_bytes);
  unsigned long long read = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &read, nullptr, nonce + kNonceBytes,
                                                 packet.size() - kHeaderBytes - kNonceBytes, packet.data(),
                                                 kHeaderBytes, nonce, key.data()) != 0)
    throw PacketError("payload or header changed");
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= static_cast<std::uint32_t>(plain[i]) << (8 * i);
  if (length > message_bytes) throw PacketError("length beyond the payload");
  // The message, in the buffer it was decrypted into.
  std::memmove(plain.data(), plain.data() + kLengthBytes, length);
  plain.resize(length);
  return plain;
}

}  // namespace

Bytes open_result(const Bytes& packet, const Key& key, std::size_t message_bytes) {
  init_sodium();
  if (packet.size() != packet_bytes(message_bytes)) throw PacketError("a packet of the wrong size");
  return open_payload(packet, key, message_bytes);
}

Server::Server(KeyPair keys, std::size_t message_bytes) : keys_(keys), message_bytes_(message_bytes) {
  init_sodium();
}

void Server::add_slot_key(const Key& key) {
  slot_keys_.insert(slot_keys_.begin(), key);
  if (slot_keys_.size() > 2) slot_keys_.pop_back();
}

Opened Server::open(const Bytes& packet) {
  if (packet.size() != packet_bytes(message_bytes_)) throw PacketError("a packet of the wrong size");
  Bytes plain(kSlotPlainBytes);
  if (!open_slot(packet.data(), keys_, slot_keys_, plain.data()))
    throw PacketError("header slot not for this server, or changed");
  const Slot slot = decode(plain.data());
  if (tags_.count(slot.tag)) throw PacketError("replayed (header tag seen before)");
  std::array<std::uint8_t, kNonceBytes> nonce;
  std::memcpy(nonce.data(), packet.data() + kHeaderBytes, kNonceBytes);
  if (nonces_.count(nonce)) throw PacketError("replayed (payload nonce seen before)");
  Opened opened;
  opened.message = open_payload(packet, slot.in_key, message_bytes_);
  // Only an authentic packet is remembered: a forged one must not block the real one.
  tags_.insert(slot.tag);
  nonces_.insert(nonce);
  opened.next = slot.next;
  opened.op = slot.op;
  opened.out_key = slot.out_key;
  opened.next_header.assign(kHeaderBytes, 0);
  std::memcpy(opened.next_header.data(), packet.data() + kSlotBytes, kRestBytes);
  xor_rest(opened.next_header.data(), kRestBytes, slot.stream_key);
  randombytes_buf(opened.next_header.data() + kRestBytes, kSlotBytes);
  return opened;
}

}  // namespace tessera::mixnn
