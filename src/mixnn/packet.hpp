// MixNN's onion-routed packets (docs/DESIGN.md section 11.1), built on libsodium
// only. Every packet on the network has one size: a header of kMaxHops slots and a
// payload of a fixed number of bytes.
//
//   header:  [slot for this hop | the rest, under this hop's keystream] (kHeaderBytes)
//   slot:    {next address, op, stream key, in key, out key, tag}, sealed to the hop:
//            a sealed box (X25519) to its public key, or, once the designer has given
//            the hop a slot key of its own (in the packet that initialised it),
//            XChaCha20-Poly1305 under that key (a fresh random nonce in front, random
//            bytes behind: the same size, and both look random on the wire)
//   payload: XChaCha20-Poly1305 of {length, message, zero padding}, the header as
//            associated data, a fresh random nonce in front
//
// A hop opens the first slot with its secret key (or slot key) alone, learns where to send next
// and nothing else, decrypts the rest of the header with the slot's stream key, and
// appends random bytes so the header keeps its size: what follows its own slot is
// the next hop's sealed slot and, beyond it, bytes under keystreams it does not hold,
// so it cannot tell how many hops follow. The payload is authenticated together with
// the whole header, so any change to any byte is rejected; a slot's tag and a
// payload's nonce are remembered, so a replayed packet is rejected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::mixnn {

using Bytes = std::vector<std::uint8_t>;
using Key = std::array<std::uint8_t, 32>;

constexpr int kMaxHops = 16;
constexpr std::int32_t kToDesigner = -1;  // the next address of the last hop

// The paper's ops 0-3, cover traffic, and the designer's request for a server's state.
enum class Op : std::uint8_t { init = 0, forward = 1, backward = 2, test = 3, loop = 4, report = 5 };

// Sizes (bytes).
constexpr std::size_t kSlotPlainBytes = 4 + 4 + 3 * 32 + 16;  // next, op+pad, three keys, tag
constexpr std::size_t kSlotBytes = kSlotPlainBytes + 48;       // + crypto_box_SEALBYTES
constexpr std::size_t kHeaderBytes = kMaxHops * kSlotBytes;
constexpr std::size_t kNonceBytes = 24, kTagBytes = 16, kLengthBytes = 4;

// libsodium initialised once (thread-safe); throws if it cannot be.
void init_sodium();

struct KeyPair {
  Key public_key{}, secret_key{};
  static KeyPair generate();
};

// The packet size for payloads of up to `message_bytes`.
std::size_t packet_bytes(std::size_t message_bytes);

// One hop of a route: its address and public key, and the slot key it holds, if any
// (a slot under it costs the hop a symmetric AEAD instead of an X25519 exchange).
struct Hop {
  std::int32_t address = 0;
  Key public_key{};
  bool has_slot_key = false;
  Key slot_key{};
};

// What the designer keeps of a route it built: the key to encrypt the first hop's
// payload, and the key the last hop encrypts the result with.
struct Onion {
  Bytes header;                  // kHeaderBytes
  Key first_in_key{}, last_out_key{};
};

// The header through `route` (1 to kMaxHops hops), each hop told `op`; the last hop
// sends to kToDesigner. Fresh keys and tags for every call.
Onion build_onion(const std::vector<Hop>& route, Op op);

// A packet: `header` and `message` (at most `message_bytes`) under `key`.
// A fresh random key (a slot key, for instance).
Key random_key();

Bytes seal_packet(const Bytes& header, const Key& key, const Bytes& message, std::size_t message_bytes);

// The designer reads a result that came back under `key` (last_out_key); throws
// PacketError on tampering.
Bytes open_result(const Bytes& packet, const Key& key, std::size_t message_bytes);

struct PacketError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A server's view of one packet it opened.
struct Opened {
  std::int32_t next = 0;
  Op op = Op::forward;
  Bytes message;
  Bytes next_header;  // kHeaderBytes: the header to forward
  Key out_key{};      // the key to seal the next hop's payload with
};

// Opens the slot at `slot` (kSlotBytes) with the slot keys (newest first), then the
// key pair; false when none opens it. `plain` receives kSlotPlainBytes.
bool open_slot(const std::uint8_t* slot, const KeyPair& keys, const std::vector<Key>& slot_keys, std::uint8_t* plain);

// A server: its key pair, its slot keys, and the tags and nonces it has seen.
class Server {
 public:
  Server(KeyPair keys, std::size_t message_bytes);
  // Throws PacketError (wrong size, not for this key or tampered, replayed).
  Opened open(const Bytes& packet);
  const Key& public_key() const { return keys_.public_key; }
  // A slot key the designer gave this server. The two newest are kept, so that
  // packets sealed before the newest arrived still open.
  void add_slot_key(const Key& key);
  const std::vector<Key>& slot_keys() const { return slot_keys_; }

 private:
  KeyPair keys_;
  std::vector<Key> slot_keys_;  // newest first
  std::size_t message_bytes_;
  std::set<std::array<std::uint8_t, kTagBytes>> tags_;
  std::set<std::array<std::uint8_t, kNonceBytes>> nonces_;
};

}  // namespace tessera::mixnn
