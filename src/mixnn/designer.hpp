// The MixNN designer (rank 0; docs/DESIGN.md section 11.2): picks the cascade from
// the pool, hides dummies among the real servers, initialises every server through
// its own onion, trains with forward and backward onions through the cascade, sends
// loop messages, and handles failures: a result that does not come back within T is
// a crash (the designer probes every server of the cascade to find the silent ones),
// answers of the test phase that differ from what the servers' reported state
// computes are a Byzantine server. Either way the cascade is rebuilt on other
// servers from the last good state and the epoch starts again. It also trains the
// plain model on the same batches, for the comparison.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/datasets.hpp"
#include "mixnn/packet.hpp"
#include "mixnn/part.hpp"
#include "mixnn/server.hpp"
#include "mixnn/transport.hpp"

namespace tessera::mixnn {

struct DesignerOptions {
  std::string arch;
  std::vector<PartPlan> plans;
  train::Settings settings;
  bool keeps_first = false, keeps_last = false;
  int dummies = 0;
  double loop_rate = 0;          // loop messages per training step (Poisson)
  double startup_timeout = 60;   // T before the round trip is measured (seconds)
  double timeout_factor = 50;    // T = factor x the median round trip of the first steps
  double min_timeout = 0.25;     // and never below this
  int max_rebuilds = 3;
  int test_window = 8;           // test batches in flight
  double check_tolerance = 1e-4; // largest |cascade - designer's recomputation| of a log-probability
  std::size_t message_bytes = 0;
  std::uint64_t seed = 1;
};

struct Cascade {
  std::int32_t generation = 0;
  std::vector<int> ranks;  // in forward order
  std::vector<int> parts;  // the part of each position, -1 for a dummy
};

struct EpochResult {
  int epoch = 0;
  double mixnn_accuracy = 0, mixnn_loss = 0, mixnn_train_loss = 0, mixnn_seconds = 0, check_seconds = 0;
  double plain_accuracy = 0, plain_loss = 0, plain_train_loss = 0, plain_seconds = 0, plain_test_seconds = 0;
  double check_deviation = 0;  // largest |cascade - recomputation| in the accepted test phase
  int attempts = 1;
};

enum class FailureKind : std::int64_t { crash = 0, byzantine = 1 };

struct FailureRecord {
  FailureKind kind = FailureKind::crash;
  int epoch = 0;
  std::int64_t step = 0;        // the training step being waited for (-1: test phase)
  double detected_at = 0;       // transport seconds
  double timeout = 0;           // T at that time
  std::int32_t generation = 0;  // the cascade that failed
  std::vector<int> removed;     // ranks the designer took out (crash: the silent ones; Byzantine: all)
  double handled_at = 0;        // when the new cascade was up (0: it failed too, see the next record)
};

struct DesignerResult {
  std::vector<EpochResult> epochs;
  std::vector<FailureRecord> failures;
  std::vector<Cascade> cascades;
  double timeout = 0, median_round_trip = 0;
  std::int64_t loops_sent = 0, loops_returned = 0;
  HopStats stats;
  std::vector<std::vector<float>> final_states;  // every part's last good state (the trained model)
  int stopped_by = 0;  // the signal that ended the run after its last epoch (core/stop.hpp), or 0
};

class Designer {
 public:
  // `pool`: the servers' ranks and public keys.
  Designer(Transport& transport, const KeyPair& keys, std::map<int, Key> pool, const DesignerOptions& options);
  ~Designer();
  // The cascade the run starts with (chosen at construction).
  Cascade cascade() const;
  DesignerResult run(const data::Dataset& data, models::Network& plain);
  // The key that seals the designer's own slots (it is the last hop of its routes).
  std::vector<Key> slot_keys() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tessera::mixnn
