// The MixNN designer's state and its steps (docs/DESIGN.md section 11.2), shared by
// designer.cpp (the cascade, its packets and phases, the run) and
// designer_failures.cpp (finding the servers that failed, rebuilding the cascade).
// Private to those two files.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "core/rng.hpp"
#include "mixnn/designer.hpp"
#include "mixnn/onion_stock.hpp"
#include "mixnn/wire.hpp"

namespace tessera::mixnn {

// A result the designer waited for in vain: the cascade is taken as crashed.
struct Timeout {
  std::int64_t step;
};

// The step numbers of messages outside training (their slots never repeat).
constexpr std::int64_t kInitStep = -10, kReportStep = -20, kProbeStep = -30, kLoopStep = -40, kTestStep = -1000;

struct Designer::State {
  Transport& net;
  KeyPair keys;
  Server self;
  std::map<int, Key> pool;
  DesignerOptions o;
  Rng rng;
  Cascade cascade;
  std::set<int> crashed, suspects;
  // The slot key of every server the designer initialised and heard back from: its
  // slots are sealed with it (a symmetric AEAD for the server to open, not an X25519
  // exchange). The designer's own slots use a key of its own.
  std::map<int, Key> slot_keys;
  Key own_slot_key = random_key();
  std::vector<std::unique_ptr<Part>> parts;  // one per plan: trained here if kept, else the last copy
  std::vector<std::vector<float>> good;      // the last good state of every part
  std::map<std::tuple<int, std::int64_t, int>, Message> early;  // arrived before they were awaited
  // Onions built ahead for the routes the current phase sends on (every onion is used
  // once: fresh keys and tags).
  OnionStock onions;
  double timeout;
  std::vector<double> round_trips;
  DesignerResult result;
  int rebuilds = 0;

  State(Transport& t, const KeyPair& k, std::map<int, Key> p, const DesignerOptions& options)
      : net(t), keys(k), self(k, options.message_bytes), pool(std::move(p)), o(options),
        rng(make_rng(options.seed, "mixnn-cascade")), timeout(options.startup_timeout) {
    self.add_slot_key(own_slot_key);
  }

  int first_server_part() const { return o.keeps_first ? 1 : 0; }
  int end_server_part() const { return static_cast<int>(o.plans.size()) - (o.keeps_last ? 1 : 0); }

  // --- the cascade -------------------------------------------------------------
  void choose_cascade(const std::vector<int>& previous);

  int loss_server() const {
    for (std::size_t i = 0; i < cascade.parts.size(); ++i)
      if (cascade.parts[i] == static_cast<int>(o.plans.size()) - 1) return cascade.ranks[i];
    return -1;
  }

  // --- packets -----------------------------------------------------------------
  // The hops through `ranks` (then the designer), sealed with the slot keys it gave them.
  std::vector<Hop> route(const std::vector<int>& ranks, bool back_to_me) const;
  OnionStock::Route route_of(const std::vector<int>& ranks, Op op, bool back_to_me) const;
  void want_training_routes();
  // Seals `m` into a packet through `ranks` and sends it.
  void post(const std::vector<int>& ranks, Op op, const Message& m, bool back_to_me = true);

  // The message of `kind` for `step` (and `chunk`) on this cascade; nothing by `deadline`.
  std::optional<Message> await(Kind kind, std::int64_t step, double deadline, int chunk = 0);
  // The same, within T, else Timeout.
  Message await_or_throw(Kind kind, std::int64_t step, int chunk = 0);
  // Loop messages through 1 to 3 servers of the pool (Poisson, --mixnn.loop_rate).
  void send_loops();
  std::size_t chunk_bytes() const { return o.message_bytes - encoded_bytes(0, 0, 0); }

  // --- phases ------------------------------------------------------------------
  // Every server of the cascade gets its part (or "dummy"), its state and a slot key.
  void init_cascade();

  // One training step through the cascade; returns the batch's summed loss. `images`
  // as the cascade's first hop takes them: normalised when the designer keeps the
  // first part, else as stored (bytes).
  double train_step(std::int64_t step, const torch::Tensor& images, const torch::Tensor& labels);

  // T from the median round trip of the first 20 steps.
  void calibrate(double round_trip);

  // The report phase: every server's part state, into the designer's copies.
  void pull_states();

  // The test phase through the cascade, checked against the designer's recomputation.
  struct TestResult {
    double accuracy = 0, loss = 0, deviation = 0;
  };
  // `sent`: the split's images as the first hop takes them (see train_step).
  TestResult test_phase(const data::Split& split, const torch::Tensor& sent);

  // --- failures (designer_failures.cpp) -----------------------------------------
  // The servers of the cascade that answer a probe (a one-hop loop) within T, or,
  // once one has answered, within the factor of T's rule times its answer's delay (at
  // least the least T): before the round trip is measured T is the long start-up
  // value, and a dead server would otherwise cost all of it a second time.
  std::set<int> responsive();

  // A failure of the cascade: find who to take out, then rebuild on other servers from
  // the last good state (a rebuild that fails in its own initialisation counts as
  // another crash).
  void rebuild(FailureKind kind, int epoch, std::int64_t step);

  // Logs and records the failure; the silent servers (a crash) or all of the cascade
  // (Byzantine) become crashed or suspects.
  void record_failure(FailureKind kind, int epoch, std::int64_t step);
};

}  // namespace tessera::mixnn
