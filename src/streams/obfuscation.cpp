#include "streams/obfuscation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <queue>
#include <tuple>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tessera::streams {

const char* move_kind_name(MoveKind kind) {
  switch (kind) {
    case MoveKind::cover: return "cover";
    case MoveKind::relay: return "relay";
    case MoveKind::loop: return "loop";
    case MoveKind::lead: return "lead";
    case MoveKind::delay: return "delay";
  }
  return "?";
}

bool sends_to(MoveKind kind) { return kind == MoveKind::cover || kind == MoveKind::relay || kind == MoveKind::lead; }

double Plan::longest_delay() const {
  double longest = 0;
  for (const auto& m : moves)
    if (m.kind == MoveKind::delay) longest = std::max(longest, m.seconds);
  return longest;
}

namespace {

constexpr double kNeverSeconds = std::numeric_limits<double>::max();

using Arc = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>;  // step, phase, src, dst

// Builds the obfuscated events: the plain ones, then the plan's, each with a sort key
// (its start time, or for an untimed trace a position between the sequence numbers)
// from which `seq` is renumbered at the end.
class Obfuscator {
 public:
  Obfuscator(const trace::TraceFile& plain, const Plan& plan)
      : plain_(plain), plan_(plan), e_(plain.events), model_(plain.deployment.value_or(trace::DeploymentModel{})) {
    const auto& e = plain.events;
    for (std::size_t i = 0; i < e.size(); ++i) {
      const auto key = e.step[i] * 2 + e.phase[i];
      auto& first = first_active_.try_emplace(key, plain.devices, kNeverSeconds).first->second;
      const double when = time_of(i);
      first[e.src[i]] = std::min(first[e.src[i]], when);
      first[e.dst[i]] = std::min(first[e.dst[i]], when);
      auto [start, fresh] = phase_start_.try_emplace(key, when);
      if (!fresh) start->second = std::min(start->second, when);
      sort_key_.push_back(when);
    }
    compute_times();
  }

  void add_moves(std::uint64_t seed) {
    auto rng = make_rng(seed, "obfuscation-dummy-compute");
    std::int64_t next_dummy = plain_.devices;
    for (const auto& move : plan_.moves) {
      for (auto device : {move.from, sends_to(move.kind) ? move.to : move.from})
        TESSERA_REQUIRE(device >= 0 && device < plain_.devices, "obfuscation: a ", move_kind_name(move.kind),
                        " move names device ", device, " of ", plain_.devices);
      TESSERA_REQUIRE(!sends_to(move.kind) || move.from != move.to, "obfuscation: a ", move_kind_name(move.kind),
                      " move from device ", move.from, " to itself");
      if (move.kind == MoveKind::delay) {
        TESSERA_REQUIRE(move.seconds >= 0 && std::isfinite(move.seconds), "obfuscation: a delay move of ",
                        move.seconds, " s (must be >= 0)");
        mean_hold_[move.from] += move.seconds;
        continue;
      }
      const auto dummy = move.kind == MoveKind::relay || move.kind == MoveKind::loop ? next_dummy++ : -1;
      for (const auto& [key, first] : first_active_) {
        const auto step = key / 2;
        const bool forward = key % 2 == trace::kForward;
        // Backward mirrors forward: the arcs reversed, sent when their new sender is first seen.
        const auto sender = forward ? move.from : move.to, receiver = forward ? move.to : move.from;
        switch (move.kind) {
          case MoveKind::cover: send(step, key % 2, sender, receiver, move.bytes, unseen_start(key, sender, receiver)); break;
          case MoveKind::lead: send(step, key % 2, sender, receiver, move.bytes, start_of(key, sender)); break;
          case MoveKind::relay: {
            // The dummy forwards after a compute time of a real device: its timing
            // looks like a layer's, not like a mix that forwards at once.
            const double arrived = send(step, key % 2, sender, dummy, move.bytes, unseen_start(key, sender, receiver));
            send(step, key % 2, dummy, receiver, move.bytes, arrived + compute_time(rng));
            break;
          }
          case MoveKind::loop:
            if (forward) send(step, key % 2, move.from, dummy, move.bytes, start_of(key, move.from));
            else send(step, key % 2, dummy, move.from, move.bytes, start_of(key, move.from));
            break;
          case MoveKind::delay: break;
        }
      }
    }
    dummies_ = next_dummy - plain_.devices;
  }

  trace::TraceFile finish(std::uint64_t seed, PlanCost* cost) {
    pad();
    hold(seed);
    renumber_seq();
    if (cost) *cost = cost_of();
    return relabelled(seed);
  }

 private:
  // What an observer sees of a device's compute in the plain trace: from its first
  // incoming stream's end to its first outgoing stream's start, per pass (timed only).
  void compute_times() {
    if (!e_.timed()) return;
    const auto& e = plain_.events;
    std::map<std::int64_t, std::pair<std::vector<double>, std::vector<double>>> pass;  // arrived, left
    for (std::size_t i = 0; i < e.size(); ++i) {
      auto& [arrived, left] = pass.try_emplace(e.step[i] * 2 + e.phase[i]).first->second;
      if (arrived.empty()) arrived.assign(plain_.devices, kNeverSeconds), left.assign(plain_.devices, kNeverSeconds);
      arrived[e.dst[i]] = std::min(arrived[e.dst[i]], e.t_end[i]);
      left[e.src[i]] = std::min(left[e.src[i]], e.t_start[i]);
    }
    for (const auto& [key, times] : pass)
      for (std::int64_t d = 0; d < plain_.devices; ++d)
        if (times.first[d] < kNeverSeconds && times.second[d] < kNeverSeconds && times.second[d] >= times.first[d])
          compute_.push_back(times.second[d] - times.first[d]);
  }

  double compute_time(Rng& rng) const {
    return compute_.empty() ? 0.0 : compute_[uniform_below(compute_.size(), rng)];
  }

  double time_of(std::size_t i) const { return e_.timed() ? e_.t_start[i] : static_cast<double>(e_.seq[i]); }

  double start_of(std::int64_t key, std::int64_t device) const {
    const double first = first_active_.at(key)[device];
    return first == kNeverSeconds ? phase_start_.at(key) : first;
  }

  // Cover leaves once both ends have been seen: it never makes a real device appear
  // earlier than its real streams do, so it does not reveal itself by the order.
  double unseen_start(std::int64_t key, std::int64_t sender, std::int64_t receiver) const {
    return std::max(start_of(key, sender), start_of(key, receiver));
  }

  // Appends one stream; returns when it arrives (its sort key just after, untimed).
  double send(std::int64_t step, std::int64_t phase, std::int64_t src, std::int64_t dst, std::int64_t bytes,
              double when) {
    e_.step.push_back(step);
    e_.phase.push_back(phase);
    e_.seq.push_back(0);
    e_.src.push_back(src);
    e_.dst.push_back(dst);
    e_.bytes.push_back(bytes);
    if (!e_.timed()) {
      sort_key_.push_back(when + 0.25);
      return when + 0.25;
    }
    const double end = when + model_.latency + static_cast<double>(bytes) / model_.bandwidth;
    e_.t_start.push_back(when);
    e_.t_end.push_back(end);
    sort_key_.push_back(when);
    return end;
  }

  void pad() {
    if (plan_.pad_quantum > 0)
      for (auto& b : e_.bytes) b = (b + plan_.pad_quantum - 1) / plan_.pad_quantum * plan_.pad_quantum;
  }

  // Every message held by the jitter and its receiver's mix, and the trace retimed as
  // its own dataflow (obfuscation.hpp), pass after pass.
  void hold(std::uint64_t seed) {
    if (!e_.timed() || (plan_.jitter <= 0 && mean_hold_.empty())) return;
    auto rng = make_rng(seed, "obfuscation-holds");
    std::vector<double> held(e_.size(), 0.0);
    for (std::size_t i = 0; i < e_.size(); ++i) {
      if (plan_.jitter > 0) held[i] += plan_.jitter * uniform_unit(rng);
      const auto mix = mean_hold_.find(e_.dst[i]);
      if (mix != mean_hold_.end() && mix->second > 0) held[i] += -mix->second * std::log1p(-uniform_unit(rng));
    }
    std::map<std::int64_t, std::vector<std::size_t>> passes;  // step * 2 + phase: its events
    for (std::size_t i = 0; i < e_.size(); ++i) passes[e_.step[i] * 2 + e_.phase[i]].push_back(i);
    const auto devices = static_cast<std::size_t>(plain_.devices + dummies_);
    const auto real = plain_.events.size();
    using Arrival = std::pair<double, double>;  // (plain end, held end), earliest plain end on top
    double carry = 0;  // how much later the previous pass ended
    for (auto& [key, events] : passes) {
      std::stable_sort(events.begin(), events.end(), [&](auto a, auto b) { return e_.t_start[a] < e_.t_start[b]; });
      std::vector<std::priority_queue<Arrival, std::vector<Arrival>, std::greater<>>> pending(devices);
      std::vector<double> latest_plain(devices, -kNeverSeconds), latest_held(devices, -kNeverSeconds);
      double plain_finish = -kNeverSeconds, held_finish = -kNeverSeconds;
      for (auto i : events) {
        const auto src = static_cast<std::size_t>(e_.src[i]);
        for (auto& queue = pending[src]; !queue.empty() && queue.top().first <= e_.t_start[i]; queue.pop()) {
          latest_plain[src] = std::max(latest_plain[src], queue.top().first);
          latest_held[src] = std::max(latest_held[src], queue.top().second);
        }
        double shift = carry;
        if (latest_plain[src] > -kNeverSeconds) shift = std::max(shift, latest_held[src] - latest_plain[src]);
        shift += held[i];
        plain_finish = std::max(plain_finish, e_.t_end[i]);
        // What a device waits for: the real streams, and a relay's first hop at its dummy.
        if (i < real || e_.dst[i] >= plain_.devices)
          pending[static_cast<std::size_t>(e_.dst[i])].emplace(e_.t_end[i], e_.t_end[i] + shift);
        e_.t_start[i] += shift;
        e_.t_end[i] += shift;
        sort_key_[i] = e_.t_start[i];
        held_finish = std::max(held_finish, e_.t_end[i]);
      }
      carry = held_finish - plain_finish;
    }
  }

  void renumber_seq() {
    std::vector<std::size_t> order(e_.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
      return std::tie(e_.step[a], e_.phase[a], sort_key_[a]) < std::tie(e_.step[b], e_.phase[b], sort_key_[b]);
    });
    std::map<std::int64_t, std::int64_t> next;
    for (auto i : order) e_.seq[i] = next[e_.step[i] * 2 + e_.phase[i]]++;
  }

  static double duration(const trace::TraceEvents& e) {
    if (e.size() == 0) return 0;
    return *std::max_element(e.t_end.begin(), e.t_end.end()) - *std::min_element(e.t_start.begin(), e.t_start.end());
  }

  PlanCost cost_of() const {
    PlanCost cost;
    const auto& p = plain_.events;
    std::vector<Arc> plain_arcs, arcs;
    for (std::size_t i = 0; i < p.size(); ++i) {
      cost.bytes += p.bytes[i];
      plain_arcs.emplace_back(p.step[i], p.phase[i], p.src[i], p.dst[i]);
    }
    for (std::size_t i = 0; i < e_.size(); ++i) {
      cost.extra_bytes += e_.bytes[i];
      arcs.emplace_back(e_.step[i], e_.phase[i], e_.src[i], e_.dst[i]);
    }
    cost.messages = static_cast<std::int64_t>(p.size());
    cost.extra_messages = static_cast<std::int64_t>(e_.size()) - cost.messages;
    cost.extra_bytes -= cost.bytes;
    for (auto* list : {&plain_arcs, &arcs}) {
      std::sort(list->begin(), list->end());
      list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    cost.arcs = static_cast<std::int64_t>(plain_arcs.size());
    cost.new_arcs = static_cast<std::int64_t>(arcs.size() - plain_arcs.size());
    cost.dummies = dummies_;
    if (e_.timed()) {
      cost.seconds = duration(p);
      // Holds never make a stream earlier: what rounding leaves below 0 is 0.
      cost.extra_seconds = std::max(0.0, duration(e_) - cost.seconds);
    }
    return cost;
  }

  // Dummies would stand out by their ids (the largest): every id is drawn again.
  trace::TraceFile relabelled(std::uint64_t seed) {
    const auto total = plain_.devices + dummies_;
    std::vector<std::int64_t> id(total);
    std::iota(id.begin(), id.end(), 0);
    auto rng = make_rng(seed, "obfuscation-ids");
    tessera::shuffle(id.begin(), id.end(), rng);
    trace::TraceFile out;
    out.devices = total;
    out.entry = id[*plain_.entry];
    out.exit = id[*plain_.exit];
    out.layer_names = plain_.layer_names;
    out.deployment = plain_.deployment;
    std::vector<std::int64_t> layer(total, -1);
    for (std::int64_t d = 0; d < plain_.devices; ++d) layer[id[d]] = (*plain_.device_layer)[d];
    out.device_layer = std::move(layer);
    out.block_device = plain_.block_device;
    for (auto& [name, devices] : out.block_device)
      for (auto& device : devices) device = id[device];
    for (auto* column : {&e_.src, &e_.dst})
      for (auto& device : *column) device = id[device];
    out.events = std::move(e_);
    return out;
  }

  const trace::TraceFile& plain_;
  const Plan& plan_;
  trace::TraceEvents e_;
  trace::DeploymentModel model_;
  std::map<std::int64_t, std::vector<double>> first_active_;  // per step * 2 + phase, per device
  std::map<std::int64_t, double> phase_start_;
  std::vector<double> sort_key_;
  std::map<std::int64_t, double> mean_hold_;  // per device with a mix in front: its mean hold
  std::vector<double> compute_;                // the plain trace's compute times (seconds)
  std::int64_t dummies_ = 0;
};

}  // namespace

double first_step_seconds(const trace::TraceEvents& e) {
  if (e.size() == 0 || !e.timed()) return 0;
  const auto first = *std::min_element(e.step.begin(), e.step.end());
  double begin = kNeverSeconds, end = -kNeverSeconds;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.step[i] == first) {
      begin = std::min(begin, e.t_start[i]);
      end = std::max(end, e.t_end[i]);
    }
  return end - begin;
}

void check_holds(const trace::TraceFile& plain, const Plan& plan) {
  TESSERA_REQUIRE(plan.pad_quantum >= 0, "obfuscation: padding to a quantum of ", plan.pad_quantum,
                  " bytes (must be >= 0)");
  TESSERA_REQUIRE(plan.jitter >= 0 && std::isfinite(plan.jitter), "obfuscation: a jitter of ", plan.jitter,
                  " s (must be >= 0)");
  if (plain.events.timed()) {
    const double step = first_step_seconds(plain.events);
    for (const auto& [what, seconds] : {std::pair{"jitter", plan.jitter}, std::pair{"delay", plan.longest_delay()}})
      TESSERA_REQUIRE(seconds <= step, "obfuscation: a ", what, " of ", seconds, " s exceeds the deployment's step of ",
                      step, " s (the first step of '", plain.path.empty() ? "the trace" : plain.path,
                      "'): such a mix stalls the service instead of hiding it");
  }
}

trace::TraceFile obfuscate_trace(const trace::TraceFile& plain, const Plan& plan, std::uint64_t seed,
                                 PlanCost* cost) {
  TESSERA_REQUIRE(plain.device_layer && plain.entry && plain.exit, "'", plain.path,
                  "': obfuscation needs the trace's truth (/trace/truth/device_layer) and its forward_entry "
                  "and forward_exit attrs: the provider plans with what it knows of its own model");
  check_holds(plain, plan);
  Obfuscator obfuscator(plain, plan);
  obfuscator.add_moves(seed);
  return obfuscator.finish(seed, cost);
}

}  // namespace tessera::streams
