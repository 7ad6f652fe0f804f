// A MixNN server (a rank of the pool): opens each packet with its own key, does
// what the op in its slot says with the part the designer gave it (or relays, as a
// dummy), and seals the result for the next address. It knows nothing of the
// cascade beyond the neighbours its packets name. docs/DESIGN.md section 11.2.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mixnn/packet.hpp"
#include "mixnn/part.hpp"
#include "mixnn/transport.hpp"

namespace tessera::mixnn {

// Failures the harness injects (training steps from 0; -1: none).
struct Injection {
  std::int64_t crash_step = -1;      // from this step on the server answers nothing
  std::int64_t byzantine_step = -1;  // from this step on it negates the activations it sends
};

// What one rank did, for /mixnn/hops.
struct HopStats {
  std::int64_t opened = 0, rejected = 0, stale = 0, sealed = 0;
  double open_seconds = 0, seal_seconds = 0, compute_seconds = 0;
  double crashed_at = -1, byzantine_at = -1;  // transport seconds; -1: never
  static constexpr int kFields = 9;
  std::vector<double> to_vector() const;
  static HopStats from(const double* values);
};

// The init blob: whether the server is a dummy, its part (an index into the
// designer's plan), the slot key the designer seals this server's slots with from
// now on, and the part's state.
struct PartSpec {
  bool dummy = false;
  std::int32_t part = -1;
  Key slot_key{};
  std::vector<float> state;
};
Bytes encode_spec(const PartSpec& spec);
PartSpec decode_spec(const Bytes& bytes);

// What a compromised server keeps for the adversary (`--mixnn.adversary`): its part,
// the part's state at the end, and the input and output of every batch of the last
// test phase it served, by step (the step is in the message it opens).
struct Observations {
  std::int32_t part = -1, generation = -1;
  std::vector<float> state;
  std::map<std::int64_t, std::pair<torch::Tensor, torch::Tensor>> test;
};

// The harness's tag on `world` for "stop": sent by the designer when the run ends.
constexpr int kStopTag = 7101;

// What every server knows before the designer gives it a part.
struct ServerSetup {
  std::size_t message_bytes = 0;  // of the run's one packet size
  std::string arch, data_name;    // data_name: how the first part normalises the images it gets as bytes
  std::vector<PartPlan> plans;
  train::Settings settings;
};

// What a server did, and the slot keys it ended with (newest first).
struct ServerRun {
  HopStats stats;
  std::vector<Key> slot_keys;
};

// Serves until the designer says stop. With `observed`, the server is compromised
// and records into it.
ServerRun run_server(Transport& transport, const KeyPair& keys, const ServerSetup& setup, const Injection& injection,
                     Observations* observed = nullptr);

}  // namespace tessera::mixnn
