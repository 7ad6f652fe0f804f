#include "mixnn/server.hpp"

#include <cstring>
#include <map>
#include <memory>

#include "core/error.hpp"
#include "data/datasets.hpp"
#include "mixnn/wire.hpp"

namespace tessera::mixnn {

std::vector<double> HopStats::to_vector() const {
  return {static_cast<double>(opened), static_cast<double>(rejected), static_cast<double>(stale),
          static_cast<double>(sealed), open_seconds, seal_seconds, compute_seconds, crashed_at, byzantine_at};
}

HopStats HopStats::from(const double* v) {
  HopStats s;
  s.opened = static_cast<std::int64_t>(v[0]);
  s.rejected = static_cast<std::int64_t>(v[1]);
  s.stale = static_cast<std::int64_t>(v[2]);
  s.sealed = static_cast<std::int64_t>(v[3]);
  s.open_seconds = v[4];
  s.seal_seconds = v[5];
  s.compute_seconds = v[6];
  s.crashed_at = v[7];
  s.byzantine_at = v[8];
  return s;
}

namespace {
constexpr std::size_t kSpecFixedBytes = 1 + 4 + 32;  // dummy, part, slot key
}

Bytes encode_spec(const PartSpec& spec) {
  Bytes out(kSpecFixedBytes + spec.state.size() * sizeof(float));
  out[0] = spec.dummy ? 1 : 0;
  std::memcpy(out.data() + 1, &spec.part, 4);
  std::memcpy(out.data() + 5, spec.slot_key.data(), 32);
  if (!spec.state.empty())
    std::memcpy(out.data() + kSpecFixedBytes, spec.state.data(), spec.state.size() * sizeof(float));
  return out;
}

PartSpec decode_spec(const Bytes& bytes) {
  if (bytes.size() < kSpecFixedBytes || (bytes.size() - kSpecFixedBytes) % sizeof(float))
    throw PacketError("bad part description");
  PartSpec spec;
  spec.dummy = bytes[0] != 0;
  std::memcpy(&spec.part, bytes.data() + 1, 4);
  std::memcpy(spec.slot_key.data(), bytes.data() + 5, 32);
  spec.state.resize((bytes.size() - kSpecFixedBytes) / sizeof(float));
  if (!spec.state.empty())
    std::memcpy(spec.state.data(), bytes.data() + kSpecFixedBytes, spec.state.size() * sizeof(float));
  return spec;
}

namespace {

class ServerLoop {
 public:
  ServerLoop(Transport& transport, const KeyPair& keys, const ServerSetup& setup, const Injection& injection,
             Observations* observed)
      : transport_(transport), crypto_(keys, setup.message_bytes), message_bytes_(setup.message_bytes),
        setup_(setup), injection_(injection), observed_(observed) {}

  void handle(const Arrival& arrival) {
    if (stats_.crashed_at >= 0) return;  // a crashed server answers nothing
    Opened opened;
    Message message;
    const double t0 = transport_.now();
    try {
      opened = crypto_.open(arrival.packet);
      message = decode(opened.message);
    } catch (const PacketError&) {
      ++stats_.rejected;
      return;
    }
    ++stats_.opened;
    stats_.open_seconds += transport_.now() - t0;
    if (opened.op != Op::init && opened.op != Op::loop && opened.op != Op::report && message.step >= 0) {
      if (injection_.crash_step >= 0 && message.step >= injection_.crash_step) {
        stats_.crashed_at = transport_.now();
        return;
      }
      if (injection_.byzantine_step >= 0 && message.step >= injection_.byzantine_step && stats_.byzantine_at < 0)
        stats_.byzantine_at = transport_.now();
    }
    if (opened.op == Op::init) return init(opened, message);
    if (opened.op == Op::loop) return reply(opened, message);
    if (message.generation != generation_) {
      ++stats_.stale;
      return;
    }
    if (opened.op == Op::report) return report(opened, message);
    if (dummy_ || !part_) return reply(opened, altered(message));
    const double c0 = transport_.now();
    if (message.kind == Kind::data) {  // the images as stored: this server normalises them
      try {
        message.tensor = data::normalise(message.tensor, setup_.data_name);
      } catch (const Error&) {  // not a batch of this data set's images as bytes
        ++stats_.rejected;
        return;
      }
    }
    switch (opened.op) {
      case Op::forward: forward(opened, std::move(message)); break;
      case Op::backward: backward(opened, message); break;
      case Op::test: {
        auto input = message.tensor;
        message.tensor = part_->test_forward(message.tensor);
        if (observed_) observed_->test[message.step] = {input.clone(), message.tensor};  // the output is new
        message.kind = Kind::activations;
        stats_.compute_seconds += transport_.now() - c0;
        reply(opened, altered(message));
        break;
      }
      default: ++stats_.rejected;
    }
  }

  const HopStats& stats() const { return stats_; }
  const std::vector<Key>& slot_keys() const { return crypto_.slot_keys(); }

  // The compromised server's final record: its part's state now.
  void finish_observations() {
    if (observed_ && part_) observed_->state = part_->state();
  }

 private:
  // A Byzantine server alters the activations (or images) it passes on.
  Message altered(Message m) const {
    if (stats_.byzantine_at >= 0 && (m.kind == Kind::activations || m.kind == Kind::data) && m.tensor.defined())
      m.tensor = m.tensor.scalar_type() == torch::kUInt8 ? 255 - m.tensor : -m.tensor;
    return m;
  }

  void reply(const Opened& opened, const Message& m) {
    const double t0 = transport_.now();
    auto packet = seal_packet(opened.next_header, opened.out_key, encode(m), message_bytes_);
    stats_.seal_seconds += transport_.now() - t0;
    ++stats_.sealed;
    transport_.send(std::move(packet), opened.next, m.step, opened.op);
  }

  void init(const Opened& opened, const Message& m) {
    if (m.kind != Kind::init_chunk || m.chunks < 1 || m.chunk != init_next_chunk_) {
      init_chunks_.clear();  // out of order: a new init starts from chunk 0
      init_next_chunk_ = 0;
      if (m.kind != Kind::init_chunk || m.chunks < 1 || m.chunk != 0) {
        ++stats_.rejected;
        return;
      }
    }
    init_chunks_.insert(init_chunks_.end(), m.blob.begin(), m.blob.end());
    ++init_next_chunk_;
    if (m.chunk + 1 < m.chunks) return reply(opened, Message{Kind::init_done, m.step, m.generation, {}, m.chunk, m.chunks});
    PartSpec spec;
    try {
      spec = decode_spec(init_chunks_);
    } catch (const PacketError&) {
      ++stats_.rejected;
      init_chunks_.clear();
      init_next_chunk_ = 0;
      return;
    }
    init_chunks_.clear();
    init_next_chunk_ = 0;
    crypto_.add_slot_key(spec.slot_key);
    generation_ = m.generation;
    dummy_ = spec.dummy;
    part_.reset();
    labels_.clear();
    waiting_.clear();
    if (!dummy_) {
      TESSERA_ASSERT(spec.part >= 0 && spec.part < static_cast<int>(setup_.plans.size()));
      part_ = std::make_unique<Part>(setup_.arch, setup_.plans[spec.part], setup_.settings);
      part_->set_state(spec.state);
    }
    if (observed_) *observed_ = Observations{dummy_ ? -1 : spec.part, generation_, {}, {}};
    reply(opened, Message{Kind::init_done, m.step, m.generation, {}, m.chunk, m.chunks});
  }

  void forward(const Opened& opened, Message m) {
    const double c0 = transport_.now();
    if (m.kind == Kind::labels) {
      labels_[m.step] = m.tensor;
      auto w = waiting_.find(m.step);
      if (w == waiting_.end()) return;
      auto [o, activations] = std::move(w->second);
      waiting_.erase(w);
      return forward(o, std::move(activations));
    }
    const auto& plan = part_->plan();
    if (plan.loss) {
      auto l = labels_.find(m.step);
      if (l == labels_.end()) {  // the labels come in their own packet: wait for them
        waiting_.emplace(m.step, std::make_pair(opened, std::move(m)));
        return;
      }
      auto loss = part_->train_forward(m.step, m.tensor, l->second, m.kind != Kind::data);
      labels_.erase(l);
      stats_.compute_seconds += transport_.now() - c0;
      return reply(opened, Message{Kind::loss, m.step, m.generation, loss});
    }
    m.tensor = part_->train_forward(m.step, m.tensor, {}, m.kind != Kind::data);
    m.kind = Kind::activations;
    stats_.compute_seconds += transport_.now() - c0;
    reply(opened, altered(std::move(m)));
  }

  void backward(const Opened& opened, Message m) {
    const double c0 = transport_.now();
    if (!part_->waiting(m.step)) {
      ++stats_.stale;
      return;
    }
    auto grad = part_->train_backward(m.step, m.kind == Kind::gradient ? m.tensor : torch::Tensor());
    stats_.compute_seconds += transport_.now() - c0;
    reply(opened, Message{Kind::gradient, m.step, m.generation, grad});
  }

  void report(const Opened& opened, const Message& m) {
    if (!part_) return reply(opened, Message{Kind::state_chunk, m.step, m.generation, {}, 0, 1});
    // One snapshot per report: chunk 0 takes it, the others read it.
    if (m.chunk == 0 || report_state_.empty()) report_state_ = part_->state();
    const auto& state = report_state_;
    const std::size_t per_chunk = m.blob.size() == 8 ? *reinterpret_cast<const std::uint64_t*>(m.blob.data()) : 0;
    if (per_chunk == 0) {
      ++stats_.rejected;
      return;
    }
    const std::size_t bytes = state.size() * sizeof(float);
    const auto chunks = static_cast<std::int32_t>(std::max<std::size_t>(1, (bytes + per_chunk - 1) / per_chunk));
    Message out{Kind::state_chunk, m.step, m.generation, {}, m.chunk, chunks};
    const std::size_t begin = std::min(bytes, static_cast<std::size_t>(m.chunk) * per_chunk);
    const std::size_t end = std::min(bytes, begin + per_chunk);
    const auto* raw = reinterpret_cast<const std::uint8_t*>(state.data());
    out.blob.assign(raw + begin, raw + end);
    reply(opened, out);
  }

  Transport& transport_;
  Server crypto_;
  std::size_t message_bytes_;
  const ServerSetup& setup_;
  Injection injection_;
  Observations* observed_;
  HopStats stats_;
  std::int32_t generation_ = -1;
  bool dummy_ = false;
  std::unique_ptr<Part> part_;
  Bytes init_chunks_;
  std::int32_t init_next_chunk_ = 0;
  std::vector<float> report_state_;
  std::map<std::int64_t, torch::Tensor> labels_;
  std::map<std::int64_t, std::pair<Opened, Message>> waiting_;
};

}  // namespace

ServerRun run_server(Transport& transport, const KeyPair& keys, const ServerSetup& setup, const Injection& injection,
                     Observations* observed) {
  ServerLoop loop(transport, keys, setup, injection, observed);
  for (;;) {
    int stop = 0;
    // On the network's communicator, whose errors return: the designer sends the stop
    // to every rank, a dead one included.
    MPI_Iprobe(0, kStopTag, transport.comm(), &stop, MPI_STATUS_IGNORE);
    if (stop) {
      MPI_Recv(nullptr, 0, MPI_BYTE, 0, kStopTag, transport.comm(), MPI_STATUS_IGNORE);
      break;
    }
    if (auto arrival = transport.wait(transport.now() + 0.01)) loop.handle(*arrival);
  }
  loop.finish_observations();
  return {loop.stats(), loop.slot_keys()};
}

}  // namespace tessera::mixnn
