// MixNN's network over MPI (docs/DESIGN.md section 11.2): packets between ranks on a
// communicator of their own that returns errors instead of aborting, sent and
// received without blocking, so that a server that stops answering costs the
// designer a timeout and not the job. Every packet sent and received is logged for
// the /trace group (as sent: padded, one size).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <vector>

#include "mixnn/doorbell.hpp"
#include "mixnn/packet.hpp"

namespace tessera::mixnn {

struct Arrival {
  Bytes packet;
  int source = 0;
};

// One packet as its sender saw it; `op` and `step` are the truth the trace keeps
// apart from what the network shows.
struct SentRecord {
  std::int64_t destination, bytes, step, op;
  double seconds;  // since the transport started
};
struct ReceivedRecord {
  std::int64_t source;
  double seconds;
};

class Transport {
 public:
  // Collective over `world`: duplicates it with MPI_ERRORS_RETURN.
  Transport(MPI_Comm world, std::size_t packet_bytes);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  std::size_t packet_bytes() const { return packet_bytes_; }
  // Starts sending; the buffer is kept until the send completes.
  void send(Bytes packet, int destination, std::int64_t step, Op op);
  // The next packet, waiting (asleep between polls: woken by the sender's doorbell on
  // this node, else after a nap) until `deadline` (seconds on now()'s clock); nothing
  // when the deadline passes first.
  std::optional<Arrival> wait(double deadline);
  // Completes what it can: arrived packets go to the inbox, finished sends are freed.
  void progress();
  double now() const;

  // Collective over `living`, the ranks still alive (`alive[r]` for world rank r):
  // completes every send to them (arrivals meanwhile are dropped), gives up the
  // sends to the ranks that died, and stops receiving.
  void close(MPI_Comm living, const std::vector<int>& alive);
  // The network's communicator (errors return), for the messages that end a run.
  MPI_Comm comm() const { return comm_; }

  // Keeps a copy of the first `packets` packets that arrive, as they arrived (what
  // a server's operator sees on its wire).
  void capture(std::size_t packets) { capture_ = packets; }
  const std::vector<Arrival>& captured() const { return captured_; }

  const std::vector<SentRecord>& sent() const { return sent_; }
  const std::vector<ReceivedRecord>& received() const { return received_; }

 private:
  void post_receive();
  // Sleeps until the doorbell rings past `ticket`, at most a nap that grows with the
  // time since the last arrival or send, and never past `deadline`.
  void sleep(std::uint32_t ticket, double deadline);
  MPI_Comm comm_ = MPI_COMM_NULL;
  Doorbells bells_;
  std::size_t packet_bytes_;
  double start_ = 0;
  double last_activity_ = 0;  // the last arrival or send: naps grow with the time since
  Bytes receive_buffer_;
  MPI_Request receive_ = MPI_REQUEST_NULL;
  struct Outgoing {
    MPI_Request request;
    Bytes packet;
    int destination;
  };
  std::list<Outgoing> outgoing_;
  std::deque<Arrival> inbox_;
  std::vector<SentRecord> sent_;
  std::vector<ReceivedRecord> received_;
  std::size_t capture_ = 0;
  std::vector<Arrival> captured_;
};

}  // namespace tessera::mixnn
