#include "mixnn/session.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/ranks.hpp"

namespace tessera::mixnn {

namespace {

constexpr int kInjectTag = 7102, kObservationsTag = 7103, kAliveTag = 7104, kLivingTag = 7105;

// The end of a run among the ranks still alive (a server may have crashed for real,
// and a collective over the world would wait for it forever). After the stop, every
// server answers the designer on the network's communicator (errors return); the
// designer waits `grace` seconds for the answers and sends every server the list of
// the ranks that answered (a server left off it, one that answered too late, leaves
// the run on its own). Returns alive[r] for every world rank r.
std::vector<int> ranks_alive(Transport& transport, int ranks, double grace) {
  const MPI_Comm comm = transport.comm();
  std::vector<int> alive(ranks, 0);
  if (rank_of(comm) != 0) {
    const int here = 1;
    MPI_Send(&here, 1, MPI_INT, 0, kAliveTag, comm);
    MPI_Recv(alive.data(), ranks, MPI_INT, 0, kLivingTag, comm, MPI_STATUS_IGNORE);
    return alive;
  }
  alive[0] = 1;
  std::vector<int> answers(ranks);
  std::vector<MPI_Request> waiting(ranks, MPI_REQUEST_NULL);
  for (int r = 1; r < ranks; ++r) MPI_Irecv(&answers[r], 1, MPI_INT, r, kAliveTag, comm, &waiting[r]);
  const double deadline = transport.now() + grace;
  for (int left = ranks - 1; left > 0 && transport.now() < deadline;) {
    for (int r = 1; r < ranks; ++r) {
      int done = 0;
      if (alive[r] || MPI_Test(&waiting[r], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done) continue;
      alive[r] = 1;
      --left;
    }
    if (left > 0) transport.progress();
  }
  std::string dead;
  for (int r = 1; r < ranks; ++r) {
    if (alive[r]) continue;
    // An answer that arrived after the last test: the cancel fails and the rank is alive.
    MPI_Status status;
    MPI_Cancel(&waiting[r]);
    MPI_Wait(&waiting[r], &status);
    int cancelled = 0;
    MPI_Test_cancelled(&status, &cancelled);
    if (!cancelled) {
      alive[r] = 1;
      continue;
    }
    dead += (dead.empty() ? "" : ", ") + std::to_string(r);
  }
  if (!dead.empty())
    log::info("MixNN: rank(s) ", dead, " did not answer the end of the run within ", grace,
              " s (crashed): the ranks alive write the result without them");
  // Every server gets the list; the sends to a dead rank are left to the runtime.
  for (int r = 1; r < ranks; ++r) {
    MPI_Request request;
    MPI_Isend(alive.data(), ranks, MPI_INT, r, kLivingTag, comm, &request);
    if (alive[r])
      MPI_Wait(&request, MPI_STATUS_IGNORE);
    else
      MPI_Request_free(&request);
  }
  return alive;
}

// The ranks marked alive, as a communicator of their own (collective over them only).
MPI_Comm communicator_of(const std::vector<int>& alive, MPI_Comm world) {
  std::vector<int> members;
  for (int r = 0; r < static_cast<int>(alive.size()); ++r)
    if (alive[r]) members.push_back(r);
  MPI_Group all, living;
  MPI_Comm_group(world, &all);
  MPI_Group_incl(all, static_cast<int>(members.size()), members.data(), &living);
  MPI_Comm comm;
  MPI_Comm_create_group(world, living, kLivingTag, &comm);
  MPI_Group_free(&living);
  MPI_Group_free(&all);
  return comm;
}

void send_observations(const Observations& o, MPI_Comm world) {
  std::vector<std::int64_t> steps, rows;
  std::vector<float> inputs, outputs;
  std::int64_t in_columns = 0, out_columns = 0;
  auto append = [](std::vector<float>& to, const torch::Tensor& t) {
    auto c = t.to(torch::kFloat32).contiguous();
    to.insert(to.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  for (const auto& [step, pair] : o.test) {
    steps.push_back(step);
    rows.push_back(pair.first.size(0));
    in_columns = pair.first.numel() / std::max<std::int64_t>(1, pair.first.size(0));
    out_columns = pair.second.numel() / std::max<std::int64_t>(1, pair.second.size(0));
    append(inputs, pair.first);
    append(outputs, pair.second);
  }
  TESSERA_ASSERT(inputs.size() <= INT_MAX && outputs.size() <= INT_MAX, "observations too large for one message");
  const std::int64_t header[6] = {o.part, o.generation, static_cast<std::int64_t>(o.state.size()),
                                  static_cast<std::int64_t>(steps.size()), in_columns, out_columns};
  MPI_Send(header, 6, MPI_INT64_T, 0, kObservationsTag, world);
  MPI_Send(o.state.data(), static_cast<int>(o.state.size()), MPI_FLOAT, 0, kObservationsTag, world);
  MPI_Send(steps.data(), static_cast<int>(steps.size()), MPI_INT64_T, 0, kObservationsTag, world);
  MPI_Send(rows.data(), static_cast<int>(rows.size()), MPI_INT64_T, 0, kObservationsTag, world);
  MPI_Send(inputs.data(), static_cast<int>(inputs.size()), MPI_FLOAT, 0, kObservationsTag, world);
  MPI_Send(outputs.data(), static_cast<int>(outputs.size()), MPI_FLOAT, 0, kObservationsTag, world);
}

Observations receive_observations(int from, MPI_Comm world) {
  std::int64_t header[6];
  MPI_Recv(header, 6, MPI_INT64_T, from, kObservationsTag, world, MPI_STATUS_IGNORE);
  Observations o;
  o.part = static_cast<std::int32_t>(header[0]);
  o.generation = static_cast<std::int32_t>(header[1]);
  o.state.resize(static_cast<std::size_t>(header[2]));
  std::vector<std::int64_t> steps(static_cast<std::size_t>(header[3])), rows(steps.size());
  MPI_Recv(o.state.data(), static_cast<int>(o.state.size()), MPI_FLOAT, from, kObservationsTag, world,
           MPI_STATUS_IGNORE);
  MPI_Recv(steps.data(), static_cast<int>(steps.size()), MPI_INT64_T, from, kObservationsTag, world,
           MPI_STATUS_IGNORE);
  MPI_Recv(rows.data(), static_cast<int>(rows.size()), MPI_INT64_T, from, kObservationsTag, world, MPI_STATUS_IGNORE);
  std::int64_t total = 0;
  for (auto r : rows) total += r;
  auto inputs = torch::empty({total, header[4]}), outputs = torch::empty({total, header[5]});
  MPI_Recv(inputs.data_ptr<float>(), static_cast<int>(inputs.numel()), MPI_FLOAT, from, kObservationsTag, world,
           MPI_STATUS_IGNORE);
  MPI_Recv(outputs.data_ptr<float>(), static_cast<int>(outputs.numel()), MPI_FLOAT, from, kObservationsTag, world,
           MPI_STATUS_IGNORE);
  for (std::size_t i = 0, at = 0; i < steps.size(); at += static_cast<std::size_t>(rows[i]), ++i)
    o.test[steps[i]] = {inputs.narrow(0, static_cast<std::int64_t>(at), rows[i]),
                        outputs.narrow(0, static_cast<std::int64_t>(at), rows[i])};
  return o;
}

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
  const int adversaries = static_cast<int>(setup.adversary_parts.size());
  s.adversary_ranks.assign(adversaries, -1);
  Observations observed;
  if (me == 0) {
    std::map<int, Key> pool;
    for (int r = 1; r <= setup.pool; ++r) std::copy_n(public_keys.begin() + 32 * r, 32, pool[r].begin());
    Designer designer(*s.transport, s.keys, pool, o);
    const auto first = designer.cascade();
    log::info("MixNN: cascade ", describe(first, o.plans));
    if (setup.crash.position > 0) injected_ranks[0] = first.ranks.at(setup.crash.position - 1);
    if (setup.byzantine.position > 0) injected_ranks[1] = first.ranks.at(setup.byzantine.position - 1);
    for (int a = 0; a < adversaries; ++a)
      for (std::size_t i = 0; i < first.parts.size(); ++i)
        if (first.parts[i] == setup.adversary_parts[a]) s.adversary_ranks[a] = first.ranks[i];
    for (int r = 1; r < ranks; ++r) {
      const bool compromised = std::count(s.adversary_ranks.begin(), s.adversary_ranks.end(), r) > 0;
      const std::int64_t injection[3] = {r == injected_ranks[0] ? setup.crash.step : -1,
                                         r == injected_ranks[1] ? setup.byzantine.step : -1, compromised ? 1 : 0};
      MPI_Send(injection, 3, MPI_INT64_T, r, kInjectTag, world);
    }
    auto plain = models::build(o.arch, o.settings.seed);
    s.result = designer.run(data, *plain);
    s.slot_keys = designer.slot_keys();
    for (int r = 1; r < ranks; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kStopTag, s.transport->comm());
  } else {
    std::int64_t injection[3];
    MPI_Recv(injection, 3, MPI_INT64_T, 0, kInjectTag, world, MPI_STATUS_IGNORE);
    const ServerSetup server{o.message_bytes, o.arch, data.name, o.plans, o.settings};
    auto served = run_server(*s.transport, s.keys, server, {injection[0], injection[1]},
                             injection[2] ? &observed : nullptr);
    s.mine = served.stats;
    s.slot_keys = std::move(served.slot_keys);
  }
  const double grace = std::max(5.0, 2 * (me == 0 ? s.result.timeout : 0.0));
  s.alive = ranks_alive(*s.transport, ranks, grace);
  if (!s.alive[me]) {
    // Too late for the designer, which ends the run without this rank.
    log::info("MixNN: rank ", me, " answered the end of the run too late: the other ranks write the result");
    return s;  // comm stays MPI_COMM_NULL
  }
  s.comm = communicator_of(s.alive, world);
  s.transport->close(s.comm, s.alive);
  MPI_Bcast(injected_ranks, 2, MPI_INT64_T, 0, s.comm);
  s.crash_rank = static_cast<int>(injected_ranks[0]);
  s.byzantine_rank = static_cast<int>(injected_ranks[1]);
  if (adversaries == 0) return s;
  MPI_Bcast(s.adversary_ranks.data(), adversaries, MPI_INT, 0, s.comm);
  agree(s.comm, [&] {
    for (int a = 0; a < adversaries; ++a)
      TESSERA_REQUIRE(s.adversary_ranks[a] < 1 || s.alive.at(s.adversary_ranks[a]), "--mixnn.adversary: the compromised server of part ",
                      setup.adversary_parts[a] + 1, " (rank ", s.adversary_ranks[a],
                      ") died during the run: nothing to extract from");
  });
  for (int a = 0; a < adversaries; ++a) {
    TESSERA_ASSERT(s.adversary_ranks[a] >= 1, "adversary part ", setup.adversary_parts[a], " has no server");
    if (me == s.adversary_ranks[a]) send_observations(observed, world);
    if (me == 0) s.observed.push_back(receive_observations(s.adversary_ranks[a], world));
  }
  agree(s.comm, [&] {
    if (me != 0) return;
    const auto& last = s.result.cascades.back();
    for (int a = 0; a < adversaries; ++a)
      TESSERA_REQUIRE(s.observed[a].generation == last.generation && s.observed[a].part == setup.adversary_parts[a],
                      "--mixnn.adversary: the cascade was rebuilt after a failure, and the compromised server of part ",
                      setup.adversary_parts[a] + 1, " (rank ", s.adversary_ranks[a],
                      ") no longer holds it: nothing to extract from");
  });
  return s;
}

}  // namespace tessera::mixnn
