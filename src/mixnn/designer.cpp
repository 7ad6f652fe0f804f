#include "mixnn/designer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "core/stop.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "mixnn/designer_state.hpp"

namespace tessera::mixnn {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

void Designer::State::choose_cascade(const std::vector<int>& previous) {
  std::vector<int> candidates;
  for (const auto& [rank, key] : pool)
    if (!crashed.count(rank)) candidates.push_back(rank);
  shuffle(candidates.begin(), candidates.end(), rng);
  // Fresh servers first (the paper replaces the whole cascade), suspects last.
  auto rank_of = [&](int r) {
    return suspects.count(r) ? 2 : std::count(previous.begin(), previous.end(), r) ? 1 : 0;
  };
  std::stable_sort(candidates.begin(), candidates.end(), [&](int a, int b) { return rank_of(a) < rank_of(b); });
  std::vector<int> sequence;
  for (int p = first_server_part(); p < end_server_part(); ++p) sequence.push_back(p);
  for (int d = 0; d < o.dummies; ++d)
    sequence.insert(sequence.begin() + static_cast<std::ptrdiff_t>(uniform_below(sequence.size() + 1, rng)), -1);
  if (candidates.size() < sequence.size())
    throw Error("MixNN: " + std::to_string(candidates.size()) + " servers of the pool are left, a cascade needs " +
                std::to_string(sequence.size()) + " (raise --mixnn.pool or --mixnn.max_rebuilds is spent)");
  cascade.ranks.assign(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(sequence.size()));
  cascade.parts = sequence;
  result.cascades.push_back(cascade);
}

std::vector<Hop> Designer::State::route(const std::vector<int>& ranks, bool back_to_me) const {
  std::vector<Hop> hops;
  for (int r : ranks) {
    const auto key = slot_keys.find(r);
    hops.push_back({r, pool.at(r), key != slot_keys.end(), key != slot_keys.end() ? key->second : Key{}});
  }
  if (back_to_me) hops.push_back({0, keys.public_key, true, own_slot_key});
  return hops;
}

OnionStock::Route Designer::State::route_of(const std::vector<int>& ranks, Op op, bool back_to_me) const {
  return {OnionStock::RouteKey{ranks, op, back_to_me}, route(ranks, back_to_me)};
}

void Designer::State::want_training_routes() {
  std::vector<OnionStock::Route> routes = {
      route_of(cascade.ranks, Op::forward, true),
      route_of(std::vector<int>(cascade.ranks.rbegin(), cascade.ranks.rend()), Op::backward, true)};
  if (!o.keeps_last) routes.push_back(route_of({loss_server()}, Op::forward, false));
  onions.want(routes);
}

void Designer::State::post(const std::vector<int>& ranks, Op op, const Message& m, bool back_to_me) {
  const double t0 = net.now();
  const auto onion = onions.take(route_of(ranks, op, back_to_me));
  auto packet = seal_packet(onion.header, onion.first_in_key, encode(m), o.message_bytes);
  result.stats.seal_seconds += net.now() - t0;
  ++result.stats.sealed;
  net.send(std::move(packet), ranks.front(), m.step, op);
}

std::optional<Message> Designer::State::await(Kind kind, std::int64_t step, double deadline, int chunk) {
  const auto key = std::make_tuple(static_cast<int>(kind), step, chunk);
  if (auto e = early.find(key); e != early.end()) {
    auto m = std::move(e->second);
    early.erase(e);
    return m;
  }
  for (;;) {
    auto arrival = net.wait(deadline);
    if (!arrival) return std::nullopt;
    const double t0 = net.now();
    Message m;
    try {
      m = decode(self.open(arrival->packet).message);
    } catch (const PacketError&) {
      ++result.stats.rejected;
      continue;
    }
    ++result.stats.opened;
    result.stats.open_seconds += net.now() - t0;
    if (m.kind == Kind::noise && m.step == kLoopStep) {
      ++result.loops_returned;
      continue;
    }
    if (m.kind != Kind::noise && m.generation != cascade.generation) {
      ++result.stats.stale;
      continue;
    }
    const auto got = std::make_tuple(static_cast<int>(m.kind), m.step, m.chunk);
    if (got == key) return m;
    early[got] = std::move(m);
  }
}

Message Designer::State::await_or_throw(Kind kind, std::int64_t step, int chunk) {
  auto m = await(kind, step, net.now() + timeout, chunk);
  if (!m) throw Timeout{step};
  return std::move(*m);
}

void Designer::State::send_loops() {
  if (o.loop_rate <= 0) return;
  std::poisson_distribution<int> count(o.loop_rate);
  std::vector<int> alive;
  for (const auto& [rank, key] : pool)
    if (!crashed.count(rank)) alive.push_back(rank);
  for (int k = count(rng); k > 0 && !alive.empty(); --k) {
    std::vector<int> hops;
    const auto length = 1 + uniform_below(std::min<std::size_t>(3, alive.size()), rng);
    shuffle(alive.begin(), alive.end(), rng);
    hops.assign(alive.begin(), alive.begin() + static_cast<std::ptrdiff_t>(length));
    post(hops, Op::loop, Message{Kind::noise, kLoopStep, cascade.generation});
    ++result.loops_sent;
  }
}

void Designer::State::init_cascade() {
  for (std::size_t i = 0; i < cascade.ranks.size(); ++i) {
    PartSpec spec;
    spec.dummy = cascade.parts[i] < 0;
    spec.part = cascade.parts[i];
    spec.slot_key = random_key();
    if (!spec.dummy) spec.state = good[spec.part];
    const auto blob = encode_spec(spec);
    const auto chunks = static_cast<int>((blob.size() + chunk_bytes() - 1) / chunk_bytes());
    const std::int64_t step = kInitStep - static_cast<std::int64_t>(i);
    for (int c = 0; c < chunks; ++c) {
      Message m{Kind::init_chunk, step, cascade.generation, {}, c, chunks};
      const auto begin = static_cast<std::size_t>(c) * chunk_bytes();
      m.blob.assign(blob.begin() + static_cast<std::ptrdiff_t>(begin),
                    blob.begin() + static_cast<std::ptrdiff_t>(std::min(blob.size(), begin + chunk_bytes())));
      post({cascade.ranks[i]}, Op::init, m);
      await_or_throw(Kind::init_done, step, c);
    }
    slot_keys[cascade.ranks[i]] = spec.slot_key;
  }
}

double Designer::State::train_step(std::int64_t step, const torch::Tensor& images, const torch::Tensor& labels) {
  const double t0 = net.now();
  if (o.keeps_first)  // the images are data: no gradient is computed for them
    post(cascade.ranks, Op::forward,
         Message{Kind::activations, step, cascade.generation,
                 parts.front()->train_forward(step, images, {}, /*input_gradient=*/false)});
  else
    post(cascade.ranks, Op::forward, Message{Kind::data, step, cascade.generation, images});
  if (!o.keeps_last)
    post({loss_server()}, Op::forward, Message{Kind::labels, step, cascade.generation, labels}, false);
  send_loops();  // while the cascade works, not before it
  auto out = await_or_throw(o.keeps_last ? Kind::activations : Kind::loss, step);
  calibrate(net.now() - t0);
  double loss = 0;
  Message back{Kind::start_backward, step, cascade.generation};
  if (o.keeps_last) {
    loss = parts.back()->train_forward(step, out.tensor, labels).item<double>();
    back.kind = Kind::gradient;
    back.tensor = parts.back()->train_backward(step, {});
  } else {
    loss = out.tensor.item<double>();
  }
  std::vector<int> reversed(cascade.ranks.rbegin(), cascade.ranks.rend());
  post(reversed, Op::backward, back);
  auto grad = await_or_throw(Kind::gradient, step);
  if (o.keeps_first) parts.front()->train_backward(step, grad.tensor);
  return loss;
}

void Designer::State::calibrate(double round_trip) {
  if (round_trips.size() >= 20) return;
  round_trips.push_back(round_trip);
  if (round_trips.size() == 20) {
    result.median_round_trip = median(round_trips);
    timeout = std::max(o.min_timeout, o.timeout_factor * result.median_round_trip);
    result.timeout = timeout;
    log::info("MixNN: median round trip ", result.median_round_trip * 1e3, " ms over the cascade of ",
              cascade.ranks.size(), " servers: timeout T = ", timeout, " s");
  }
}

void Designer::State::pull_states() {
  for (std::size_t i = 0; i < cascade.ranks.size(); ++i) {
    if (cascade.parts[i] < 0) continue;
    auto& part = *parts[cascade.parts[i]];
    Bytes bytes;
    const std::int64_t step = kReportStep - static_cast<std::int64_t>(i);
    Message request{Kind::state_request, step, cascade.generation};
    request.blob.resize(8);
    const std::uint64_t per_chunk = chunk_bytes() - 8;
    std::memcpy(request.blob.data(), &per_chunk, 8);
    for (int c = 0, chunks = 1; c < chunks; ++c) {
      request.chunk = c;
      post({cascade.ranks[i]}, Op::report, request);
      auto m = await_or_throw(Kind::state_chunk, step, c);
      chunks = m.chunks;
      bytes.insert(bytes.end(), m.blob.begin(), m.blob.end());
    }
    std::vector<float> state(bytes.size() / sizeof(float));
    std::memcpy(state.data(), bytes.data(), state.size() * sizeof(float));
    // A server that answers nonsense (or non-finite values) is not a good state.
    if (state.size() != part.state_size() ||
        !std::all_of(state.begin(), state.end(), [](float v) { return std::isfinite(v); }))
      throw Timeout{step};
    part.set_state(state);
  }
}

Designer::State::TestResult Designer::State::test_phase(const data::Split& split, const torch::Tensor& sent) {
  const std::int64_t batch = o.settings.batch, n = split.size();
  const std::int64_t batches = (n + batch - 1) / batch;
  TestResult r;
  double correct = 0, loss = 0;
  auto batch_of = [&](const torch::Tensor& t, std::int64_t b) {
    return t.narrow(0, b * batch, std::min(batch, n - b * batch));
  };
  auto images_of = [&](std::int64_t b) { return batch_of(split.images, b); };
  auto send = [&](std::int64_t b) {
    if (o.keeps_first)
      post(cascade.ranks, Op::test,
           Message{Kind::activations, kTestStep - b, cascade.generation, parts.front()->test_forward(images_of(b))});
    else
      post(cascade.ranks, Op::test, Message{Kind::data, kTestStep - b, cascade.generation, batch_of(sent, b)});
  };
  onions.want({route_of(cascade.ranks, Op::test, true)});
  for (std::int64_t b = 0; b < std::min<std::int64_t>(o.test_window, batches); ++b) send(b);
  for (std::int64_t b = 0; b < batches; ++b) {
    auto out = await_or_throw(Kind::activations, kTestStep - b).tensor;
    if (b + o.test_window < batches) send(b + o.test_window);
    if (o.keeps_last) out = parts.back()->test_forward(out);
    auto expected = images_of(b);
    for (auto& part : parts) expected = part->test_forward(expected);
    if (out.sizes() != expected.sizes()) {
      r.deviation = INFINITY;
      continue;
    }
    // NaN counts as the largest deviation (std::max would drop it).
    const double d = (out - expected).abs().max().item<double>();
    if (!(d <= r.deviation)) r.deviation = std::isnan(d) ? INFINITY : d;
    const auto labels = split.labels.narrow(0, b * batch, out.size(0));
    correct += out.argmax(1).eq(labels).sum().item<double>();
    loss += torch::nll_loss(out, labels, {}, at::Reduction::Sum).item<double>();
  }
  r.accuracy = correct / static_cast<double>(std::max<std::int64_t>(1, n));
  r.loss = loss / static_cast<double>(std::max<std::int64_t>(1, n));
  if (!std::isfinite(r.deviation)) r.deviation = INFINITY;
  return r;
}

Designer::Designer(Transport& transport, const KeyPair& keys, std::map<int, Key> pool, const DesignerOptions& options)
    : s_(std::make_unique<State>(transport, keys, std::move(pool), options)) {
  s_->choose_cascade({});
}

Designer::~Designer() = default;

Cascade Designer::cascade() const { return s_->result.cascades.front(); }

std::vector<Key> Designer::slot_keys() const { return {s_->own_slot_key}; }

DesignerResult Designer::run(const data::Dataset& data, models::Network& plain) {
  auto& s = *s_;
  const auto& o = s.o;
  for (const auto& plan : o.plans) s.parts.push_back(std::make_unique<Part>(o.arch, plan, o.settings, &plain));
  for (const auto& part : s.parts) s.good.push_back(part->state());
  auto plain_optimizer = train::make_optimizer(plain, o.settings);
  // The images as the cascade's first hop takes them. A server gets them as stored, a
  // quarter of the bytes of the normalised floats, and normalises them as the loader
  // did, to the same floats (checked here: MixNN's model must be the plain model's);
  // a first part the designer keeps takes the floats.
  auto as_sent = [&](const torch::Tensor& images) {
    if (o.keeps_first) return images;
    auto bytes = data::stored_bytes(images, data.name);
    TESSERA_ASSERT(data::normalise(bytes, data.name).equal(images), "the images of ", data.name,
                   " do not survive the round trip through bytes");
    return bytes;
  };
  const auto train_sent = as_sent(data.train.images), test_sent = as_sent(data.test.images);

  // Initialisation: a failing server here is handled like a crash in training.
  for (;;) {
    try {
      s.init_cascade();
      break;
    } catch (const Timeout& t) {
      s.rebuild(FailureKind::crash, 0, t.step);
    }
  }
  const std::int64_t n = data.train.size(), steps = (n + o.settings.batch - 1) / o.settings.batch;
  for (int epoch = 0; epoch < o.settings.epochs; ++epoch) {
    EpochResult e;
    e.epoch = epoch + 1;
    const auto order = data::epoch_order(n, o.settings.seed, epoch);
    {  // the plain model on the same batches, on the designer alone
      const double t0 = s.net.now();
      e.plain_train_loss = train::run_steps(plain, plain_optimizer, data.train, order, o.settings.batch, 0, steps,
                                            MPI_COMM_SELF) / static_cast<double>(n);
      e.plain_seconds = s.net.now() - t0;
      const auto score = train::evaluate(plain, data.test, MPI_COMM_SELF);
      e.plain_accuracy = score.accuracy;
      e.plain_loss = score.loss;
      e.plain_test_seconds = s.net.now() - t0 - e.plain_seconds;
    }
    const std::string label = "MixNN epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.settings.epochs);
    for (;;) {
      std::int64_t step = -1;
      try {
        log::Progress progress(label, steps);
        s.want_training_routes();
        const double t0 = s.net.now();
        double loss = 0;
        for (std::int64_t k = 0; k < steps; ++k) {
          step = epoch * steps + k;
          const auto index = order.narrow(0, k * o.settings.batch, std::min(o.settings.batch, n - k * o.settings.batch));
          loss += s.train_step(step, train_sent.index_select(0, index),
                               data.train.labels.index_select(0, index));
          progress.advance(1);
        }
        e.mixnn_seconds = s.net.now() - t0;
        e.mixnn_train_loss = loss / static_cast<double>(n);
        step = -1;
        s.onions.clear();
        s.pull_states();
        const auto test = s.test_phase(data.test, test_sent);
        e.check_seconds = s.net.now() - t0 - e.mixnn_seconds;
        if (!(test.deviation <= o.check_tolerance)) {
          ++e.attempts;
          s.rebuild(FailureKind::byzantine, epoch, -1);
          continue;
        }
        e.mixnn_accuracy = test.accuracy;
        e.mixnn_loss = test.loss;
        e.check_deviation = test.deviation;
        for (std::size_t p = 0; p < s.parts.size(); ++p) s.good[p] = s.parts[p]->state();
        break;
      } catch (const Timeout& t) {
        ++e.attempts;
        s.rebuild(FailureKind::crash, epoch, t.step);
      }
    }
    log::info(label, ": accuracy ", e.mixnn_accuracy, " (plain ", e.plain_accuracy, "), training ",
              log::seconds_text(e.mixnn_seconds), " (plain ", log::seconds_text(e.plain_seconds), ", ",
              e.mixnn_seconds / std::max(1e-9, e.plain_seconds), "x)");
    s.result.epochs.push_back(e);
    // A signal to the designer ends the run after a whole epoch: what is written is
    // a model the test phase accepted.
    if ((s.result.stopped_by = stop::received()) != 0 && epoch + 1 < o.settings.epochs) {
      log::info("MixNN: ", stop::signal_name(s.result.stopped_by), " received: the run ends after epoch ", epoch + 1);
      break;
    }
    s.result.stopped_by = 0;
  }
  // Loop messages still on their way come back, or are counted lost.
  // (`await` counts them as they come; nothing else is awaited with this key).
  for (const double deadline = s.net.now() + s.timeout;
       s.result.loops_returned < s.result.loops_sent && s.net.now() < deadline;)
    s.await(Kind::noise, kLoopStep - 1, std::min(deadline, s.net.now() + 0.01));
  if (s.result.timeout == 0) s.result.timeout = s.timeout;
  s.result.stats.seal_seconds += s.onions.background_seconds();
  s.result.final_states = s.good;
  return s.result;
}

}  // namespace tessera::mixnn
