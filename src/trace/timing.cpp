#include "trace/timing.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"

namespace tessera::trace {

Dataflow backward_of(const Dataflow& forward) {
  const auto n = static_cast<std::int64_t>(forward.nodes.size());
  auto mirror = [n](std::int64_t node) { return n - 1 - node; };
  Dataflow backward;
  backward.nodes.resize(n);
  for (std::int64_t i = 0; i < n; ++i) {
    backward.nodes[mirror(i)].flops = 2 * forward.nodes[i].flops;
    for (auto before : forward.nodes[i].after) backward.nodes[mirror(before)].after.push_back(mirror(i));
  }
  for (auto it = forward.messages.rbegin(); it != forward.messages.rend(); ++it)
    backward.messages.push_back({it->dst, it->src, it->bytes, mirror(it->to), mirror(it->from)});
  return backward;
}

MessageTimes schedule(const Dataflow& flow, std::int64_t batch, const DeploymentModel& model, double begin, Rng& rng) {
  const auto nodes = flow.nodes.size();
  std::vector<std::vector<std::int64_t>> leaving(nodes);
  for (std::size_t m = 0; m < flow.messages.size(); ++m) {
    const auto& message = flow.messages[m];
    TESSERA_ASSERT(message.from < message.to && message.to < static_cast<std::int64_t>(nodes),
                   "a message must go to a later node");
    leaving[message.from].push_back(static_cast<std::int64_t>(m));
  }
  auto jittered = [&](double seconds) { return seconds * (1 + model.jitter * (2 * uniform_unit(rng) - 1)); };
  MessageTimes times;
  times.start.assign(flow.messages.size(), 0);
  times.end.assign(flow.messages.size(), 0);
  times.finish = begin;
  std::vector<double> ready(nodes, begin), done(nodes, begin);
  for (std::size_t i = 0; i < nodes; ++i) {
    for (auto before : flow.nodes[i].after) {
      TESSERA_ASSERT(before < static_cast<std::int64_t>(i), "a node waits only for earlier nodes");
      ready[i] = std::max(ready[i], done[before]);
    }
    done[i] = ready[i] + jittered(flow.nodes[i].flops * static_cast<double>(batch) / model.device_flops);
    times.finish = std::max(times.finish, done[i]);
    for (auto m : leaving[i]) {
      const auto& message = flow.messages[m];
      times.start[m] = done[i];
      const double bytes = static_cast<double>(message.bytes * batch);
      times.end[m] = done[i] + jittered(model.latency + bytes / model.bandwidth);
      ready[message.to] = std::max(ready[message.to], times.end[m]);
      times.finish = std::max(times.finish, times.end[m]);
    }
  }
  return times;
}

void append_pass(TraceEvents& events, const Dataflow& flow, const MessageTimes& times, std::int64_t step,
                 std::int64_t phase, std::int64_t batch) {
  std::vector<std::size_t> order(flow.messages.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return times.start[a] < times.start[b]; });
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& message = flow.messages[order[k]];
    events.step.push_back(step);
    events.phase.push_back(phase);
    events.seq.push_back(static_cast<std::int64_t>(k));
    events.src.push_back(message.src);
    events.dst.push_back(message.dst);
    events.bytes.push_back(message.bytes * batch);
    events.t_start.push_back(times.start[order[k]]);
    events.t_end.push_back(times.end[order[k]]);
  }
}

}  // namespace tessera::trace
