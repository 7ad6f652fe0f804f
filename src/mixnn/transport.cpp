#include "mixnn/transport.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <ctime>
#include <string>

#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::mixnn {

namespace {

constexpr int kPacketTag = 7100;

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string("MixNN network: ") + what + ": " + std::string(text, length));
}

// How long a waiting rank sleeps when no doorbell may wake it: ranks that wait for
// packets leave the cores to the ranks that work (a cascade runs more ranks than
// cores). It grows with the time the rank has been idle, from 20 us to 1 ms: a
// packet from another node (which rings no bell) is picked up soon after it arrives
// at a server busy every few milliseconds, and an idle rank costs the cores almost
// nothing.
double nap_seconds(double idle_seconds) { return std::clamp(idle_seconds / 20, 20e-6, 1e-3); }

// How long a rank sleeps when every packet it can get rings its bell (one node) and
// none of its own sends is in flight (a large message may need the sender's
// progress to finish): until rung, checking for the end of the run now and then.
constexpr double kRungSleepSeconds = 5e-3;

// Polls before a waiting rank sleeps, and again after its doorbell rang: a packet's
// transfer may need a few rounds of progress once it has started (many without
// bells, where the first poll after a nap is all a packet gets).
constexpr int kPollsBeforeSleep = 50, kPollsBeforeSleepRung = 4;

double monotonic_seconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

Transport::Transport(MPI_Comm world, std::size_t packet_bytes)
    : bells_(world), packet_bytes_(packet_bytes), receive_buffer_(packet_bytes) {
  TESSERA_ASSERT(packet_bytes <= static_cast<std::size_t>(INT32_MAX));
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  // naps of 20 us, not the default 50 us slack on top
  MPI_Comm_dup(world, &comm_);
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  // One origin for every rank: rank 0's. The monotonic clock is the same in every
  // process of a node (MPI_Wtime may count from each process's start); across nodes
  // the times are as good as their clocks agree.
  start_ = monotonic_seconds();
  MPI_Bcast(&start_, 1, MPI_DOUBLE, 0, comm_);
  if (!bells_.active())
    log::info("MixNN: no doorbells (", bells_.inactive_reason(),
              "): ranks waiting for packets poll between naps instead of sleeping until rung");
  post_receive();
}

Transport::~Transport() {
  // Not closed: an error is unwinding towards MPI_Abort. Sends may still read their
  // buffers and the communicator is not free to release: leave both to the abort.
  if (receive_ != MPI_REQUEST_NULL) {
    for (auto& out : outgoing_) static_cast<void>(new Bytes(std::move(out.packet)));
    return;
  }
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

double Transport::now() const { return monotonic_seconds() - start_; }

void Transport::post_receive() {
  check(MPI_Irecv(receive_buffer_.data(), static_cast<int>(packet_bytes_), MPI_BYTE, MPI_ANY_SOURCE, kPacketTag,
                  comm_, &receive_),
        "posting a receive");
}

void Transport::send(Bytes packet, int destination, std::int64_t step, Op op) {
  TESSERA_ASSERT(packet.size() == packet_bytes_, "packet of ", packet.size(), " bytes");
  last_activity_ = now();
  sent_.push_back({destination, static_cast<std::int64_t>(packet_bytes_), step, static_cast<std::int64_t>(op),
                   last_activity_});
  outgoing_.push_back({MPI_REQUEST_NULL, std::move(packet), destination});
  auto& out = outgoing_.back();
  // Synchronous mode: a finished send is a received one, so close() leaves nothing in
  // flight (packets are above the eager limit anyway).
  check(MPI_Issend(out.packet.data(), static_cast<int>(packet_bytes_), MPI_BYTE, destination, kPacketTag, comm_,
                  &out.request),
        "sending a packet");
  bells_.ring(destination);
  progress();
}

void Transport::progress() {
  for (;;) {
    int done = 0;
    MPI_Status status;
    check(MPI_Test(&receive_, &done, &status), "receiving a packet");
    if (!done) break;
    last_activity_ = now();
    received_.push_back({status.MPI_SOURCE, last_activity_});
    inbox_.push_back({receive_buffer_, status.MPI_SOURCE});
    if (captured_.size() < capture_) captured_.push_back(inbox_.back());
    post_receive();
  }
  for (auto it = outgoing_.begin(); it != outgoing_.end();) {
    int done = 0;
    check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "completing a send");
    it = done ? outgoing_.erase(it) : std::next(it);
  }
}

void Transport::sleep(std::uint32_t ticket, double deadline) {
  const double t = now();
  const bool rung = bells_.reach_everyone() && outgoing_.empty();
  bells_.wait(ticket, std::min(deadline - t, rung ? kRungSleepSeconds : nap_seconds(t - last_activity_)));
}

std::optional<Arrival> Transport::wait(double deadline) {
  std::uint32_t ticket = bells_.ticket();
  for (int polls = 0;; ++polls) {
    progress();
    if (!inbox_.empty()) {
      auto a = std::move(inbox_.front());
      inbox_.pop_front();
      return a;
    }
    if (now() >= deadline) return std::nullopt;
    if (polls < (bells_.active() ? kPollsBeforeSleepRung : kPollsBeforeSleep)) continue;
    sleep(ticket, deadline);
    if (const auto rung = bells_.ticket(); rung != ticket) {
      ticket = rung;
      polls = 0;
    }
  }
}

void Transport::close(MPI_Comm living, const std::vector<int>& alive) {
  // A synchronous send to a dead rank never completes (a cancelled one neither).
  for (auto it = outgoing_.begin(); it != outgoing_.end();) {
    if (alive.at(it->destination)) {
      ++it;
      continue;
    }
    MPI_Cancel(&it->request);
    MPI_Request_free(&it->request);
    // MPI may hold on to the buffer until it finalizes: it is never freed.
    static auto* const abandoned = new std::list<Outgoing>;
    abandoned->splice(abandoned->end(), outgoing_, it++);
  }
  MPI_Request barrier;
  bool entered = false;
  for (;;) {
    progress();
    inbox_.clear();
    if (!entered && outgoing_.empty()) {
      check(MPI_Ibarrier(living, &barrier), "closing");
      entered = true;
    }
    if (entered) {
      int done = 0;
      check(MPI_Test(&barrier, &done, MPI_STATUS_IGNORE), "closing");
      if (done) break;
    }
    sleep(bells_.ticket(), now() + 1e-3);
  }
  MPI_Cancel(&receive_);
  MPI_Wait(&receive_, MPI_STATUS_IGNORE);
  receive_ = MPI_REQUEST_NULL;
}

}  // namespace tessera::mixnn
