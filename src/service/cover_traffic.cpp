#include "service/cover_traffic.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/error.hpp"

namespace tessera::service {

CoverTraffic::CoverTraffic(const streams::Plan& plan, const std::vector<std::int32_t>& host_rank, int ranks, int rank,
                           const trace::TraceEvents* one_step) {
  const auto devices = static_cast<std::int64_t>(host_rank.size());
  std::vector<std::int64_t> bytes[2];  // [phase][sender * ranks + receiver]
  for (auto& b : bytes) b.assign(static_cast<std::size_t>(ranks) * ranks, 0);
  const auto add = [&](int phase, int from, int to, std::int64_t n) { bytes[phase][from * ranks + to] += n; };
  std::int64_t dummies = 0;
  for (const auto& m : plan.moves) {
    for (auto d : {m.from, streams::sends_to(m.kind) ? m.to : m.from})
      TESSERA_REQUIRE(d >= 0 && d < devices, "--serve.obfuscation: the plan names device ", d, " of ", devices,
                      " (a plan for another trace: serve with the same model, --blocks options and run.seed)");
    const int from = host_rank[m.from];
    switch (m.kind) {
      case streams::MoveKind::delay: break;  // a hold, in the deployment's time (the trace)
      case streams::MoveKind::cover:
      case streams::MoveKind::lead:
        add(0, from, host_rank[m.to], m.bytes);
        add(1, host_rank[m.to], from, m.bytes);
        break;
      case streams::MoveKind::relay: {
        const int dummy = static_cast<int>(dummies++ % ranks);
        add(0, from, dummy, m.bytes);
        add(0, dummy, host_rank[m.to], m.bytes);
        add(1, host_rank[m.to], dummy, m.bytes);
        add(1, dummy, from, m.bytes);
        break;
      }
      case streams::MoveKind::loop: {
        const int dummy = static_cast<int>(dummies++ % ranks);
        add(0, from, dummy, m.bytes);
        add(1, dummy, from, m.bytes);
        break;
      }
    }
  }
  // Padding: what rounding every real message of a step up to the quantum adds.
  if (one_step && plan.pad_quantum > 0) {
    const auto q = plan.pad_quantum;
    for (std::size_t i = 0; i < one_step->size(); ++i) {
      const auto padded = (one_step->bytes[i] + q - 1) / q * q;
      add(static_cast<int>(one_step->phase[i]), host_rank.at(one_step->src[i]), host_rank.at(one_step->dst[i]),
          padded - one_step->bytes[i]);
    }
  }
  // The matrix is the same on every rank, so every rank reaches the same verdict: MPI
  // counts and displacements are ints, so no rank may send or receive 2 GiB a pass.
  for (int phase : {0, 1})
    for (int r = 0; r < ranks; ++r) {
      std::int64_t out = 0, in = 0;
      for (int peer = 0; peer < ranks; ++peer) {
        out += bytes[phase][r * ranks + peer];
        in += bytes[phase][peer * ranks + r];
      }
      TESSERA_REQUIRE(out <= std::numeric_limits<int>::max() && in <= std::numeric_limits<int>::max(),
                      "--serve.obfuscation: rank ", r, " would send or receive over 2 GiB of cover in a pass");
    }
  std::int64_t largest = 0;
  for (int phase : {0, 1}) {
    send_[phase].resize(ranks);
    receive_[phase].resize(ranks);
    for (int peer = 0; peer < ranks; ++peer) {
      send_[phase][peer] = bytes[phase][rank * ranks + peer];
      receive_[phase][peer] = bytes[phase][peer * ranks + rank];
    }
    largest = std::max({largest, std::accumulate(send_[phase].begin(), send_[phase].end(), std::int64_t{0}),
                        std::accumulate(receive_[phase].begin(), receive_[phase].end(), std::int64_t{0})});
  }
  out_.assign(static_cast<std::size_t>(largest), 1);
  in_.assign(static_cast<std::size_t>(largest), 0);
}

void CoverTraffic::exchange(MPI_Comm comm, int phase) {
  const auto ranks = send_[phase].size();
  std::vector<int> send_counts(ranks), send_at(ranks), receive_counts(ranks), receive_at(ranks);
  int sent = 0, received = 0;
  for (std::size_t peer = 0; peer < ranks; ++peer) {
    send_counts[peer] = static_cast<int>(send_[phase][peer]);
    receive_counts[peer] = static_cast<int>(receive_[phase][peer]);
    send_at[peer] = sent;
    receive_at[peer] = received;
    sent += send_counts[peer];
    received += receive_counts[peer];
  }
  MPI_Alltoallv(out_.data(), send_counts.data(), send_at.data(), MPI_BYTE, in_.data(), receive_counts.data(),
                receive_at.data(), MPI_BYTE, comm);
}

std::int64_t CoverTraffic::bytes_sent(int phase) const {
  return std::accumulate(send_[phase].begin(), send_[phase].end(), std::int64_t{0});
}

}  // namespace tessera::service
