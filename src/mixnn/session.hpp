// One MixNN run on every rank of `world` (docs/DESIGN.md section 11.2): rank 0 the
// designer, ranks 1..pool the pool (ranks beyond it serve nothing); keys exchanged,
// the failures injected into the first cascade, the training run, the network
// closed. The command and the tests share it.
#pragma once

#include <mpi.h>

#include <memory>
#include <optional>
#include <vector>

#include "data/datasets.hpp"
#include "mixnn/designer.hpp"
#include "mixnn/server.hpp"
#include "mixnn/transport.hpp"

namespace tessera::mixnn {

// A failure injected at a position of the first cascade (1 = first server) from a
// training step on.
struct Injected {
  int position = -1;
  std::int64_t step = -1;
};

struct SessionSetup {
  DesignerOptions designer;
  int pool = 0;                    // servers: ranks 1..pool
  Injected crash, byzantine;
  std::vector<KeyPair> pool_keys;  // rank r uses pool_keys[r - 1]; empty: fresh keys
  std::size_t capture = 0;         // packets every rank keeps as they arrived
  std::vector<int> adversary_parts;  // parts whose servers in the first cascade are compromised
};

struct Session {
  DesignerResult result;  // rank 0's
  HopStats mine;          // a server's own
  KeyPair keys;           // this rank's
  std::vector<Key> slot_keys;  // this rank's slot keys at the end, newest first (a server's; the designer's own)
  std::unique_ptr<Transport> transport;  // closed: its logs and captures
  int crash_rank = -1, byzantine_rank = -1;  // the ranks the injections hit (every rank)
  std::vector<int> adversary_ranks;          // the compromised servers, by adversary part (every rank)
  std::vector<Observations> observed;        // rank 0: what they recorded, by adversary part
  // The ranks that reached the end of the run (alive[r] for world rank r; a server
  // may have crashed for real) and their communicator, over which the result is
  // written (rank 0, the designer, is its rank 0). MPI_COMM_NULL on a rank the
  // designer left out (it answered the end of the run too late): it writes nothing.
  std::vector<int> alive;
  MPI_Comm comm = MPI_COMM_NULL;
};

// Collective over `world` until the run ends, then over the ranks alive (a server
// that crashed for real is left out, see Session::comm). The compromised servers hand their observations to rank 0
// after the run (the adversary pools what its servers saw); an error on every rank
// when the cascade that ended the run is not the one they were compromised in.
Session run_session(const SessionSetup& setup, const data::Dataset& data, MPI_Comm world);

}  // namespace tessera::mixnn
