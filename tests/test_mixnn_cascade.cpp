// A real MixNN cascade on 6 ranks (the designer and a pool of 5, 3 layers and a
// dummy): the bytes every server received, opened with that server's key alone,
// name only its neighbours in the cascade (or the designer); no other key opens
// them, and its own key opens no slot but the first; every packet has one size; a
// server outside the cascade receives nothing; MixNN's accuracy is the plain
// model's within 0.001.
#include <gtest/gtest.h>

#include <sodium.h>

#include <map>
#include <set>

#include "core/ranks.hpp"
#include "mixnn/session.hpp"

using namespace tessera;
using namespace tessera::mixnn;

namespace {

// Can a rank with `keys` and `slot_keys` open the slot at `offset` of `packet`?
bool opens_at(const Bytes& packet, std::size_t offset, const KeyPair& keys, const std::vector<Key>& slot_keys) {
  std::vector<std::uint8_t> plain(kSlotPlainBytes);
  return open_slot(packet.data() + offset, keys, slot_keys, plain.data());
}

}  // namespace

TEST(MixnnCascade, EachServerLearnsOnlyItsNeighbours) {
  MPI_Comm world = MPI_COMM_WORLD;
  ASSERT_EQ(size_of(world), 6) << "run on 6 ranks";
  const auto data = data::load("fashion-mnist", "", 640, 256);
  SessionSetup setup;
  auto& o = setup.designer;
  o.arch = "mlp-mixnn";
  o.plans = plan_parts(*models::build(o.arch, 0), 1);
  o.settings.epochs = 1;
  o.settings.batch = 64;
  o.settings.lr = 0.01;
  o.settings.weight_decay = 0;
  o.dummies = 1;
  o.loop_rate = 0;
  o.min_timeout = 5;
  o.message_bytes = largest_message(o.arch, o.plans, 0, 3, 64);
  setup.pool = 5;
  setup.capture = 100000;
  auto session = run_session(setup, data, world);

  // Every rank's secret key, slot keys (at most two) and received packets, to rank 0.
  const int me = rank_of(world);
  std::vector<std::uint8_t> secrets(32 * 6);
  MPI_Gather(session.keys.secret_key.data(), 32, MPI_BYTE, secrets.data(), 32, MPI_BYTE, 0, world);
  ASSERT_LE(session.slot_keys.size(), 2u);
  std::vector<std::uint8_t> mine(2 * 32 + 1, 0), slot_bytes(6 * (2 * 32 + 1));
  mine[0] = static_cast<std::uint8_t>(session.slot_keys.size());
  for (std::size_t k = 0; k < session.slot_keys.size(); ++k)
    std::copy(session.slot_keys[k].begin(), session.slot_keys[k].end(), mine.begin() + 1 + 32 * k);
  MPI_Gather(mine.data(), 65, MPI_BYTE, slot_bytes.data(), 65, MPI_BYTE, 0, world);
  const std::size_t size = packet_bytes(o.message_bytes);
  std::map<int, std::vector<Bytes>> received;
  if (me > 0) {
    const auto& captured = session.transport->captured();
    std::int64_t count = static_cast<std::int64_t>(captured.size());
    MPI_Send(&count, 1, MPI_INT64_T, 0, 1, world);
    for (const auto& a : captured) MPI_Send(a.packet.data(), static_cast<int>(a.packet.size()), MPI_BYTE, 0, 2, world);
    return;
  }
  for (int r = 1; r < 6; ++r) {
    std::int64_t count = 0;
    MPI_Recv(&count, 1, MPI_INT64_T, r, 1, world, MPI_STATUS_IGNORE);
    for (std::int64_t k = 0; k < count; ++k) {
      Bytes p(size);
      MPI_Recv(p.data(), static_cast<int>(size), MPI_BYTE, r, 2, world, MPI_STATUS_IGNORE);
      received[r].push_back(std::move(p));
    }
  }
  std::vector<KeyPair> keys(6);
  std::vector<std::vector<Key>> slot_keys(6);
  for (int r = 0; r < 6; ++r) {
    std::copy_n(secrets.begin() + 32 * r, 32, keys[r].secret_key.begin());
    crypto_scalarmult_base(keys[r].public_key.data(), keys[r].secret_key.data());
    const auto* at = slot_bytes.data() + 65 * r;
    slot_keys[r].resize(at[0]);
    for (int k = 0; k < at[0]; ++k) std::copy_n(at + 1 + 32 * k, 32, slot_keys[r][k].begin());
  }

  const auto& result = session.result;
  ASSERT_EQ(result.cascades.size(), 1u) << "no failure was injected";
  const auto& cascade = result.cascades[0];
  ASSERT_EQ(cascade.ranks.size(), 4u);
  const int n = 4;
  std::map<int, int> position;
  for (int i = 0; i < n; ++i) position[cascade.ranks[i]] = i;
  const int loss_part = static_cast<int>(o.plans.size()) - 1;
  for (int r = 1; r < 6; ++r) {
    if (!position.count(r)) {
      EXPECT_TRUE(received[r].empty()) << "rank " << r << " is outside the cascade";
      continue;
    }
    const int i = position[r];
    ASSERT_FALSE(received[r].empty()) << "rank " << r;
    // Every server of the cascade got a slot key, and the training packets use it.
    EXPECT_EQ(slot_keys[r].size(), 1u) << "rank " << r;
    Server own(keys[r], o.message_bytes);
    for (auto k = slot_keys[r].rbegin(); k != slot_keys[r].rend(); ++k) own.add_slot_key(*k);
    int sealed_to_the_public_key = 0;
    std::map<Op, int> ops;
    for (const auto& p : received[r]) {
      ASSERT_EQ(p.size(), size);
      for (int t = 0; t < 6; ++t)
        if (t != r)
          EXPECT_FALSE(opens_at(p, 0, keys[t], slot_keys[t])) << "rank " << t << " opened rank " << r << "'s slot";
      for (int slot = 1; slot < kMaxHops; ++slot)
        EXPECT_FALSE(opens_at(p, slot * kSlotBytes, keys[r], slot_keys[r])) << "rank " << r << " opened slot " << slot;
      sealed_to_the_public_key += opens_at(p, 0, keys[r], {});
      Opened opened;
      ASSERT_NO_THROW(opened = own.open(p));
      ++ops[opened.op];
      std::set<std::int32_t> allowed{0};  // the designer: initialisation, reports, results
      if (opened.op == Op::forward || opened.op == Op::test) {
        allowed = {i + 1 < n ? cascade.ranks[i + 1] : 0};
        if (opened.op == Op::forward && cascade.parts[i] == loss_part) allowed.insert(kToDesigner);  // labels
      } else if (opened.op == Op::backward) {
        allowed = {i > 0 ? cascade.ranks[i - 1] : 0};
      }
      EXPECT_TRUE(allowed.count(opened.next)) << "rank " << r << " (position " << i << ") learnt address "
                                               << opened.next << " from an op " << static_cast<int>(opened.op)
                                               << " packet";
    }
    EXPECT_EQ(ops[Op::forward], ops[Op::backward] + (cascade.parts[i] == loss_part ? 10 : 0)) << "rank " << r;
    EXPECT_EQ(ops[Op::forward] - (cascade.parts[i] == loss_part ? 10 : 0), 10) << "10 steps, rank " << r;
    EXPECT_EQ(ops[Op::test], 4) << "256 test images in batches of 64, rank " << r;
    // Only the initialisation (in chunks) comes sealed to the public key.
    EXPECT_EQ(sealed_to_the_public_key, ops[Op::init]) << "rank " << r;
  }
  ASSERT_EQ(result.epochs.size(), 1u);
  EXPECT_NEAR(result.epochs[0].mixnn_accuracy, result.epochs[0].plain_accuracy, 0.001);
  EXPECT_GT(result.epochs[0].mixnn_accuracy, 0.2);
}
