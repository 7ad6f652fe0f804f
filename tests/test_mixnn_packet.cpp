// MixNN's packets: a route delivers, every packet on it has one size, each server
// learns its next hop and nothing else with its own key, and every changed bit and
// every replay is rejected.
#include <gtest/gtest.h>

#include <sodium.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "mixnn/packet.hpp"

using namespace tessera::mixnn;

namespace {

constexpr std::size_t kMessageBytes = 64;

struct Cascade {
  std::vector<KeyPair> keys;
  std::vector<Hop> route;
  std::vector<Server> servers;
  explicit Cascade(int hops) {
    for (int i = 0; i < hops; ++i) {
      keys.push_back(KeyPair::generate());
      route.push_back({100 + 7 * i, keys.back().public_key});
      servers.emplace_back(keys.back(), kMessageBytes);
    }
  }
};

// Can `keys` open a sealed slot at `offset` of `packet`?
bool opens_at(const Bytes& packet, std::size_t offset, const KeyPair& keys) {
  std::vector<std::uint8_t> plain(kSlotPlainBytes);
  return crypto_box_seal_open(plain.data(), packet.data() + offset, kSlotBytes, keys.public_key.data(),
                              keys.secret_key.data()) == 0;
}

}  // namespace

TEST(MixnnPacket, RouteDeliversAndEveryPacketHasOneSize) {
  Cascade c(5);
  const auto onion = build_onion(c.route, Op::forward);
  Bytes message{1, 2, 3};
  auto packet = seal_packet(onion.header, onion.first_in_key, message, kMessageBytes);
  const auto size = packet.size();
  EXPECT_EQ(size, packet_bytes(kMessageBytes));
  for (std::size_t i = 0; i < c.servers.size(); ++i) {
    auto opened = c.servers[i].open(packet);
    EXPECT_EQ(opened.message, message) << "hop " << i;
    EXPECT_EQ(opened.op, Op::forward);
    EXPECT_EQ(opened.next, i + 1 < c.route.size() ? c.route[i + 1].address : kToDesigner);
    message.push_back(static_cast<std::uint8_t>(10 + i));  // each layer changes the message
    packet = seal_packet(opened.next_header, opened.out_key, message, kMessageBytes);
    EXPECT_EQ(packet.size(), size) << "hop " << i;
  }
  EXPECT_EQ(open_result(packet, onion.last_out_key, kMessageBytes), message);
}

TEST(MixnnPacket, AServerLearnsItsNextHopOnlyWithItsOwnKey) {
  Cascade c(6);
  const auto onion = build_onion(c.route, Op::backward);
  auto packet = seal_packet(onion.header, onion.first_in_key, {42}, kMessageBytes);
  for (std::size_t i = 0; i < c.servers.size(); ++i) {
    // Its own key opens the first slot and no other window of the header; no other
    // server's key opens any window of it.
    for (std::size_t offset = 0; offset + kSlotBytes <= kHeaderBytes; offset += 8) {
      EXPECT_EQ(opens_at(packet, offset, c.keys[i]), offset == 0) << "hop " << i << " offset " << offset;
      for (std::size_t j = 0; j < c.keys.size(); ++j)
        if (j != i && offset % kSlotBytes == 0) EXPECT_FALSE(opens_at(packet, offset, c.keys[j])) << i << " " << j;
    }
    auto opened = c.servers[i].open(packet);
    EXPECT_EQ(opened.next, i + 1 < c.route.size() ? c.route[i + 1].address : kToDesigner);
    // The forwarded header shares no slot-sized window with the received one, so
    // two links' packets cannot be matched by their bytes.
    for (std::size_t a = 0; a + kSlotBytes <= kHeaderBytes; a += kSlotBytes)
      for (std::size_t b = 0; b + kSlotBytes <= kHeaderBytes; b += kSlotBytes)
        EXPECT_FALSE(std::equal(packet.begin() + a, packet.begin() + a + kSlotBytes, opened.next_header.begin() + b));
    packet = seal_packet(opened.next_header, opened.out_key, {42}, kMessageBytes);
  }
}

// How many of the packets with one of `bits` flipped `server` refuses.
std::size_t refused_flips(Server& server, const Bytes& packet, const std::vector<std::size_t>& bits) {
  std::size_t refused = 0;
  for (const auto bit : bits) {
    auto forged = packet;
    forged[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    try {
      server.open(forged);
    } catch (const PacketError&) {
      ++refused;
    }
  }
  return refused;
}

TEST(MixnnPacket, EveryFlippedBitIsRejected) {
  Cascade c(3);
  const auto onion = build_onion(c.route, Op::test);
  const auto packet = seal_packet(onion.header, onion.first_in_key, {9, 9, 9}, kMessageBytes);
  // Every bit at the first hop; at the second, every bit of its slot and 2000 others.
  std::vector<std::size_t> every(packet.size() * 8);
  std::iota(every.begin(), every.end(), 0);
  EXPECT_EQ(refused_flips(c.servers[0], packet, every), every.size());
  auto opened = c.servers[0].open(packet);  // forgeries left no trace: the real one still opens
  const auto second = seal_packet(opened.next_header, opened.out_key, {1}, kMessageBytes);
  std::vector<std::size_t> some(kSlotBytes * 8);
  std::iota(some.begin(), some.end(), 0);
  std::mt19937_64 rng(3);
  for (int k = 0; k < 2000; ++k) some.push_back(rng() % (second.size() * 8));
  EXPECT_EQ(refused_flips(c.servers[1], second, some), some.size());
  EXPECT_NO_THROW(c.servers[1].open(second));
}

TEST(MixnnPacket, SlotKeysTakeThePlaceOfThePublicKey) {
  Cascade c(3);
  // The middle hop got a slot key: its slot is sealed with it, the others' to their
  // public keys; a slot of either kind has the same size and the route delivers.
  const Key slot_key = random_key();
  c.servers[1].add_slot_key(slot_key);
  auto route = c.route;
  route[1].has_slot_key = true;
  route[1].slot_key = slot_key;
  const auto onion = build_onion(route, Op::forward);
  auto packet = seal_packet(onion.header, onion.first_in_key, {4, 2}, kMessageBytes);
  auto first = c.servers[0].open(packet);
  packet = seal_packet(first.next_header, first.out_key, first.message, kMessageBytes);
  std::vector<std::uint8_t> plain(kSlotPlainBytes);
  EXPECT_FALSE(open_slot(packet.data(), c.keys[1], {}, plain.data())) << "the public key opens a slot-key slot";
  EXPECT_FALSE(open_slot(packet.data(), c.keys[1], {random_key()}, plain.data())) << "another slot key opens it";
  EXPECT_TRUE(open_slot(packet.data(), c.keys[2], {slot_key}, plain.data())) << "the slot key alone opens it";
  auto second = c.servers[1].open(packet);
  EXPECT_EQ(second.next, c.route[2].address);
  packet = seal_packet(second.next_header, second.out_key, second.message, kMessageBytes);
  EXPECT_EQ(packet.size(), packet_bytes(kMessageBytes));
  EXPECT_EQ(c.servers[2].open(packet).message, (Bytes{4, 2}));
  // A newer key does not lock out packets sealed under the one before.
  const auto again = build_onion(route, Op::forward);
  auto p2 = seal_packet(again.header, again.first_in_key, {1}, kMessageBytes);
  auto o2 = c.servers[0].open(p2);
  p2 = seal_packet(o2.next_header, o2.out_key, o2.message, kMessageBytes);
  c.servers[1].add_slot_key(random_key());
  EXPECT_NO_THROW(c.servers[1].open(p2));
}

TEST(MixnnPacket, ReplaysAreRejected) {
  Cascade c(2);
  const auto onion = build_onion(c.route, Op::forward);
  const auto packet = seal_packet(onion.header, onion.first_in_key, {5}, kMessageBytes);
  c.servers[0].open(packet);
  EXPECT_THROW(c.servers[0].open(packet), PacketError);
  // The same header with a fresh payload (a new nonce) is a replay too.
  const auto again = seal_packet(onion.header, onion.first_in_key, {5}, kMessageBytes);
  EXPECT_THROW(c.servers[0].open(again), PacketError);
  // A new onion through the same servers is not.
  const auto fresh = build_onion(c.route, Op::forward);
  EXPECT_NO_THROW(c.servers[0].open(seal_packet(fresh.header, fresh.first_in_key, {5}, kMessageBytes)));
}

TEST(MixnnPacket, BadRoutesAndMessagesAreRefused) {
  Cascade c(kMaxHops + 1);
  EXPECT_THROW(build_onion({}, Op::forward), std::invalid_argument);
  EXPECT_THROW(build_onion(c.route, Op::forward), std::invalid_argument);
  const auto onion = build_onion(std::vector<Hop>(c.route.begin(), c.route.begin() + kMaxHops), Op::forward);
  EXPECT_THROW(seal_packet(onion.header, onion.first_in_key, Bytes(kMessageBytes + 1), kMessageBytes),
               std::invalid_argument);
  EXPECT_THROW(c.servers[0].open(Bytes(10)), PacketError);  // not a packet's size
}
