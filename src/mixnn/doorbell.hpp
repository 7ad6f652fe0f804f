// Wake-ups between the ranks of one node (docs/DESIGN.md section 11.2). Open MPI's
// shared-memory transport has no blocking receive: a rank waiting for a packet
// polls, and on a node with more ranks than cores (a cascade runs one rank per
// server) every poll takes a core from the rank doing the work. Here a waiting rank
// sleeps in the kernel on a futex over a counter in memory the node's ranks share,
// and a sender on the same node bumps the receiver's counter after it starts the
// send: the receiver wakes within a context switch of the packet, and a rank with
// nothing to do costs nothing. A bell is a hint, never a message: every sleep has
// a time limit, the packet itself travels over MPI, and ranks on other nodes (or a
// node where the shared memory cannot be made) are not rung and wake on their own.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::mixnn {

class Doorbells {
 public:
  // Collective over `world` (every rank of it alive).
  explicit Doorbells(MPI_Comm world);
  ~Doorbells();
  Doorbells(const Doorbells&) = delete;
  Doorbells& operator=(const Doorbells&) = delete;

  // Whether the bells of this node work (its shared memory was made): else `wait`
  // just sleeps for the time given.
  bool active() const { return bells_ != nullptr; }
  // Whether every rank of the world has a bell here (one node, bells active): then
  // every packet a rank waits for rings its bell.
  bool reach_everyone() const { return reach_everyone_; }
  // This rank's count now: `wait(ticket, ...)` returns early once it has moved.
  std::uint32_t ticket() const;
  // Rings the bell of world rank `rank` (nothing when it is on another node).
  void ring(int rank);
  // Sleeps until this rank's bell rings past `ticket`, or `seconds` pass.
  void wait(std::uint32_t ticket, double seconds);
  // Why the bells are off on this rank, when they are ("" when active).
  const std::string& inactive_reason() const { return reason_; }

 private:
  struct Bell;
  Bell* bells_ = nullptr;          // one per rank of this node, shared
  std::size_t bytes_ = 0;
  int mine_ = -1;                  // this rank's bell
  std::vector<int> bell_of_rank_;  // world rank -> bell on this node, -1 elsewhere
  std::string reason_;
  bool reach_everyone_ = false;
};

}  // namespace tessera::mixnn
