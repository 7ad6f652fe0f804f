// Times for the messages of a dataflow under a DeploymentModel (docs/DESIGN.md
// section 9.1). A dataflow is the work of one pass: compute nodes in topological
// order, and messages, each sent when its `from` node has finished and needed by its
// `to` node before that node starts. A node starts when every node in `after` has
// finished and every message to it has arrived; messages leaving one node are sent
// in parallel (no link or device contention is modelled).
#pragma once

#include <cstdint>
#include <vector>

#include "core/rng.hpp"
#include "trace/events.hpp"

namespace tessera::trace {

struct Dataflow {
  struct Node {
    double flops = 0;                  // per image
    std::vector<std::int64_t> after;   // nodes (earlier in the order) that must finish first
  };
  struct Message {
    std::int64_t src = 0, dst = 0;     // devices
    std::int64_t bytes = 0;            // per image
    std::int64_t from = 0, to = 0;     // nodes
  };
  std::vector<Node> nodes;
  std::vector<Message> messages;
};

// The backward pass of `forward`: every message reversed, nodes in reverse order,
// each node's compute doubled (gradients of its input and of its weights).
Dataflow backward_of(const Dataflow& forward);

struct MessageTimes {
  std::vector<double> start, end;  // per message of the dataflow
  double finish = 0;               // when the last node finished and the last message arrived
};

// One pass of `flow` on a batch of `batch` images, starting at `begin` seconds.
// Jitter factors are drawn from `rng`, node by node, then message by message.
MessageTimes schedule(const Dataflow& flow, std::int64_t batch, const DeploymentModel& model, double begin, Rng& rng);

// Appends the messages of one pass to `events` in the order of their start times
// (ties in message order), with seq = 0, 1, ... in that order.
void append_pass(TraceEvents& events, const Dataflow& flow, const MessageTimes& times, std::int64_t step,
                 std::int64_t phase, std::int64_t batch);

}  // namespace tessera::trace
