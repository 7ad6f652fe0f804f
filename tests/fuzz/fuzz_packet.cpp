// libFuzzer harness: MixNN's packet opening (src/mixnn/packet.cpp). A valid packet
// through a two-server route is built once; the input is a mask XORed onto it from
// its first byte (bytes past the packet's end are ignored). A mask that changes no
// bit gives the valid packet, which must open with the first server's key and then be
// refused as a replay; any other mask changes at least one bit and must be refused.
// Every input gets a fresh server, so its replay memory starts empty. A refusal is a
// mixnn::PacketError; anything else (or an accepted forgery) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#include "mixnn/packet.hpp"

using namespace tessera::mixnn;

namespace {

constexpr std::size_t kMessageBytes = 32;

struct Fixture {
  KeyPair first = KeyPair::generate(), second = KeyPair::generate();
  Bytes packet;
  Fixture() {
    const auto onion = build_onion({{1, first.public_key}, {2, second.public_key}}, Op::forward);
    packet = seal_packet(onion.header, onion.first_in_key, Bytes(20, 0x5a), kMessageBytes);
  }
};

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_packet: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Fixture fixture;
  Bytes packet = fixture.packet;
  bool changed = false;
  for (std::size_t i = 0; i < size && i < packet.size(); ++i) {
    packet[i] ^= data[i];
    changed = changed || data[i] != 0;
  }
  Server server(fixture.first, kMessageBytes);
  bool opened = false;
  try {
    const auto result = server.open(packet);
    opened = true;
    if (result.next != 2 || result.message != Bytes(20, 0x5a)) finding("opened a packet into something else");
  } catch (const PacketError&) {
  }
  if (changed && opened) finding("accepted a changed packet");
  if (!changed && !opened) finding("refused the valid packet");
  if (opened) {
    try {
      server.open(packet);
      finding("accepted a replay");
    } catch (const PacketError&) {
    }
  }
  return 0;
}
