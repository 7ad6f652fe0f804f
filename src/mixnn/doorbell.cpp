#include "mixnn/doorbell.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>
#include <new>
#include <random>

#include "core/ranks.hpp"

namespace tessera::mixnn {

// A cache line each, so that ringing one rank does not disturb the others' lines.
struct alignas(64) Doorbells::Bell {
  std::atomic<std::uint32_t> count{0};
  std::atomic<std::uint32_t> sleepers{0};
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "a futex word must be a plain 32-bit integer");

namespace {

long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value, const timespec* timeout) {
  // Not FUTEX_PRIVATE: the word is shared between processes.
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, value, timeout, nullptr, 0);
}

// The node's shared memory: made by its first rank under a fresh name, mapped by the
// others, and unlinked once all have it (so nothing is left behind, even if a rank
// is killed later). nullptr where it could not be made.
void* map_node_memory(MPI_Comm node, std::size_t bytes, std::string& reason) {
  const int me = rank_of(node);
  char name[64] = {};
  int made = 0;
  if (me == 0) {
    std::random_device entropy;
    std::snprintf(name, sizeof name, "/tessera-bells-%d-%08x", static_cast<int>(getpid()), entropy());
    const int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    made = fd >= 0 && ftruncate(fd, static_cast<off_t>(bytes)) == 0;
    if (fd >= 0) close(fd);
    if (!made) {
      reason = std::string("shared memory ") + name + ": " + std::strerror(errno);
      if (fd >= 0) shm_unlink(name);
    }
  }
  MPI_Bcast(&made, 1, MPI_INT, 0, node);
  MPI_Bcast(name, sizeof name, MPI_CHAR, 0, node);
  void* memory = nullptr;
  if (made) {
    const int fd = shm_open(name, O_RDWR, 0600);
    if (fd >= 0) {
      memory = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      close(fd);
      if (memory == MAP_FAILED) memory = nullptr;
    }
    if (!memory) reason = std::string("shared memory ") + name + ": " + std::strerror(errno);
  } else if (reason.empty()) {
    reason = "the node's first rank could not make the shared memory";
  }
  int everyone = memory != nullptr;
  MPI_Allreduce(MPI_IN_PLACE, &everyone, 1, MPI_INT, MPI_MIN, node);
  if (me == 0 && made) shm_unlink(name);
  if (!everyone && memory) {
    munmap(memory, bytes);
    memory = nullptr;
    if (reason.empty()) reason = "another rank of the node could not map the shared memory";
  }
  return memory;
}

}  // namespace

Doorbells::Doorbells(MPI_Comm world) : bell_of_rank_(size_of(world), -1) {
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank_of(world), MPI_INFO_NULL, &node);
  const int on_node = size_of(node);
  mine_ = rank_of(node);
  std::vector<int> world_ranks(on_node);
  const int me = rank_of(world);
  MPI_Allgather(&me, 1, MPI_INT, world_ranks.data(), 1, MPI_INT, node);
  bytes_ = sizeof(Bell) * static_cast<std::size_t>(on_node);
  void* memory = map_node_memory(node, bytes_, reason_);
  MPI_Comm_free(&node);
  if (!memory) return;
  // The memory of a fresh shared object is zero: a zero Bell, as constructed.
  bells_ = static_cast<Bell*>(memory);
  for (int b = 0; b < on_node; ++b) bell_of_rank_[world_ranks[b]] = b;
  reach_everyone_ = on_node == size_of(world);
}

Doorbells::~Doorbells() {
  if (bells_) munmap(bells_, bytes_);
}

std::uint32_t Doorbells::ticket() const { return bells_ ? bells_[mine_].count.load() : 0; }

void Doorbells::ring(int rank) {
  if (!bells_ || rank < 0 || rank >= static_cast<int>(bell_of_rank_.size()) || bell_of_rank_[rank] < 0) return;
  Bell& bell = bells_[bell_of_rank_[rank]];
  // The count moves first: a waiter that has not gone to sleep yet sees it moved (the
  // kernel compares before it sleeps); one that sleeps already is counted and woken.
  bell.count.fetch_add(1);
  if (bell.sleepers.load() > 0) futex(&bell.count, FUTEX_WAKE, INT_MAX, nullptr);
}

void Doorbells::wait(std::uint32_t ticket, double seconds) {
  seconds = std::max(0.0, seconds);
  timespec limit{static_cast<time_t>(seconds), static_cast<long>(std::fmod(seconds, 1.0) * 1e9)};
  if (!bells_) {
    nanosleep(&limit, nullptr);
    return;
  }
  Bell& bell = bells_[mine_];
  bell.sleepers.fetch_add(1);
  // Returns at once if the count moved since `ticket`; an interrupt or a spurious
  // wake-up only ends the sleep early, which the caller's loop absorbs.
  if (bell.count.load() == ticket) futex(&bell.count, FUTEX_WAIT, ticket, &limit);
  bell.sleepers.fetch_sub(1);
}

}  // namespace tessera::mixnn
