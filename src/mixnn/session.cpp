#include "mixnn/session.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "core/log.hpp"
#include "core/ranks.hpp"

namespace tessera::mixnn {

namespace {

constexpr int kInjectTag = 7102;

std::string describe(const Cascade& c, const std::vector<PartPlan>& plans) {
  std::string text;
  for (std::size_t i = 0; i < c.ranks.size(); ++i)
    text += (i ? " -> " : "") + std::to_string(c.ranks[i]) +
            (c.parts[i] < 0 ? std::string(" (dummy)") : " (" + plans[c.parts[i]].name + ")");
  return text;
}

}  // namespace

Session run_session(const SessionSetup& setup, const data::Dataset& data, MPI_Comm world) {
  const int me = rank_of(world), ranks = size_of(world);
  const auto& o = setup.designer;
  Session s;
  s.keys = setup.pool_keys.empty() || me == 0 ? KeyPair::generate() : setup.pool_keys.at(me - 1);
  std::vector<std::uint8_t> public_keys(32 * ranks);
  MPI_Gather(s.keys.public_key.data(), 32, MPI_BYTE, public_keys.data(), 32, MPI_BYTE, 0, world);

  s.transport = std::make_unique<Transport>(world, packet_bytes(o.message_bytes));
  s.transport->capture(setup.capture);
  std::int64_t injected_ranks[2] = {-1, -1};
  if (me == 0) {
    std::map<int, Key> pool;
    for (int r = 1; r <= setup.pool; ++r) std::copy_n(public_keys.begin() + 32 * r, 32, pool[r].begin());
    Designer designer(*s.transport, s.keys, pool, o);
    const auto first = designer.cascade();
    log::info("MixNN: cascade ", describe(first, o.plans));
    if (setup.crash.position > 0) injected_ranks[0] = first.ranks.at(setup.crash.position - 1);
    if (setup.byzantine.position > 0) injected_ranks[1] = first.ranks.at(setup.byzantine.position - 1);
    for (int r = 1; r < ranks; ++r) {
      const std::int64_t injection[2] = {r == injected_ranks[0] ? setup.crash.step : -1,
                                         r == injected_ranks[1] ? setup.byzantine.step : -1};
      MPI_Send(injection, 2, MPI_INT64_T, r, kInjectTag, world);
    }
    auto plain = models::build(o.arch, o.settings.seed);
    s.result = designer.run(data, *plain);
    for (int r = 1; r < ranks; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kStopTag, world);
  } else {
    std::int64_t injection[2];
    MPI_Recv(injection, 2, MPI_INT64_T, 0, kInjectTag, world, MPI_STATUS_IGNORE);
    s.mine = run_server(*s.transport, s.keys, o.message_bytes, o.arch, o.plans, o.settings,
                        {injection[0], injection[1]}, world);
  }
  s.transport->close();
  MPI_Bcast(injected_ranks, 2, MPI_INT64_T, 0, world);
  s.crash_rank = static_cast<int>(injected_ranks[0]);
  s.byzantine_rank = static_cast<int>(injected_ranks[1]);
  return s;
}

}  // namespace tessera::mixnn
