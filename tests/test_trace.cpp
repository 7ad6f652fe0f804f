// The logical stream trace: exact event counts and byte totals against the
// formula, a DAG with one entry and one exit per direction, and the written
// /trace read back.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "io/h5.hpp"
#include "trace/devices.hpp"
#include "trace/packet_log.hpp"
#include "trace/writer.hpp"
#include "test_util.hpp"

using namespace tessera;

namespace {

struct Graph {
  std::set<std::int64_t> nodes;
  std::multimap<std::int64_t, std::int64_t> edges;
};

Graph graph_of(const trace::TraceEvents& events, std::int64_t step, std::int64_t phase) {
  Graph g;
  for (std::size_t e = 0; e < events.size(); ++e) {
    if (events.step[e] != step || events.phase[e] != phase) continue;
    g.nodes.insert(events.src[e]);
    g.nodes.insert(events.dst[e]);
    g.edges.emplace(events.src[e], events.dst[e]);
  }
  return g;
}

// Kahn's algorithm: true when every node can be ordered (no cycle).
bool acyclic(const Graph& g) {
  std::map<std::int64_t, int> in;
  for (auto n : g.nodes) in[n] = 0;
  for (const auto& [s, d] : g.edges) in[d]++;
  std::vector<std::int64_t> ready;
  for (const auto& [n, k] : in)
    if (k == 0) ready.push_back(n);
  std::size_t seen = 0;
  while (!ready.empty()) {
    auto n = ready.back();
    ready.pop_back();
    ++seen;
    auto range = g.edges.equal_range(n);
    for (auto it = range.first; it != range.second; ++it)
      if (--in[it->second] == 0) ready.push_back(it->second);
  }
  return seen == g.nodes.size();
}

std::set<std::int64_t> sources(const Graph& g) {
  std::set<std::int64_t> out = g.nodes;
  for (const auto& e : g.edges) out.erase(e.second);
  return out;
}
std::set<std::int64_t> sinks(const Graph& g) {
  std::set<std::int64_t> out = g.nodes;
  for (const auto& e : g.edges) out.erase(e.first);
  return out;
}

blocks::Settings small(std::int64_t per_device) {
  blocks::Settings options;
  options.bh = options.bw = 32;  // layers.0 of mlp-mixnn: 128 x 784 in 4 x 25 blocks
  options.per_device = per_device;
  return options;
}

}  // namespace

TEST(Trace, OneBlockPerDeviceMatchesTheFormula) {
  auto network = models::build("mlp-mixnn", 1);
  auto targets = blocks::plan(*network, small(1), 1);
  trace::LogicalDevices devices(*network, targets, {1, 28, 28}, 7);
  const std::int64_t n = 100, rows = 4, cols = 25, batch = 16, steps = 3;
  EXPECT_EQ(devices.count(), 1 + n + 2);  // client, 100 block devices, layers.2, layers.4
  auto events = devices.trace(steps, batch, /*training=*/true, {}, 1).events;
  // Per direction: x_c to the R holders of each column (N), partials to row owners
  // (N - R), row owners to layers.2 (R), layers.2 to layers.4 (1): 2N + 1.
  const std::int64_t per_direction = 2 * n + 1;
  ASSERT_EQ(static_cast<std::int64_t>(events.size()), steps * 2 * per_direction);
  // Bytes per image: 4 x 784 inputs, 24 x 128 partials, 128 to layers.2, 64 to layers.4.
  const std::int64_t per_image = rows * 784 + (cols - 1) * 128 + 128 + 64;
  std::int64_t total = 0;
  for (auto b : events.bytes) total += b;
  EXPECT_EQ(total, steps * 2 * per_image * batch * 4);

  for (std::int64_t s = 0; s < steps; ++s) {
    auto forward = graph_of(events, s, trace::kForward);
    auto backward = graph_of(events, s, trace::kBackward);
    EXPECT_TRUE(acyclic(forward));
    EXPECT_TRUE(acyclic(backward));
    EXPECT_EQ(sources(forward), std::set<std::int64_t>{devices.entry()});
    EXPECT_EQ(sinks(forward), std::set<std::int64_t>{devices.exit()});
    EXPECT_EQ(sources(backward), std::set<std::int64_t>{devices.exit()});
    EXPECT_EQ(sinks(backward), std::set<std::int64_t>{devices.entry()});
  }
  // The truth: 100 devices in layer 1 (layers.0), one each in layers 0, 2, 3.
  std::map<std::int64_t, int> per_layer;
  for (auto l : devices.layer_of_device()) per_layer[l]++;
  EXPECT_EQ(per_layer, (std::map<std::int64_t, int>{{0, 1}, {1, 100}, {2, 1}, {3, 1}}));
}

TEST(Trace, SeveralBlocksPerDeviceCountDistinctHolders) {
  auto network = models::build("mlp-mixnn", 1);
  auto targets = blocks::plan(*network, small(4), 1);
  trace::LogicalDevices devices(*network, targets, {1, 28, 28}, 7);
  auto events = devices.trace(1, 8, /*training=*/false, {}, 1).events;
  // Independent count from the placement: distinct devices per column and per row.
  const auto& grid = targets[0].grid;
  const auto& device_of = targets[0].placement.device_of_block;
  std::int64_t expected = grid.rows + 1;
  for (std::int64_t c = 0; c < grid.cols; ++c) {
    std::set<std::int64_t> holders;
    for (std::int64_t r = 0; r < grid.rows; ++r) holders.insert(device_of[grid.id(r, c)]);
    expected += holders.size();
  }
  for (std::int64_t r = 0; r < grid.rows; ++r) {
    std::set<std::int64_t> holders;
    for (std::int64_t c = 0; c < grid.cols; ++c) holders.insert(device_of[grid.id(r, c)]);
    holders.erase(*holders.rbegin());  // the row owner: the row's last device
    expected += holders.size();
  }
  EXPECT_EQ(static_cast<std::int64_t>(events.size()), expected);
  EXPECT_EQ(devices.count(), 1 + 25 + 2);
  EXPECT_TRUE(acyclic(graph_of(events, 0, trace::kForward)));
}

TEST(Trace, TwoShardedLayersInARowStayAcyclic) {
  auto network = models::build("vgg-mini", 1);
  auto options = small(1);
  options.bh = options.bw = 128;
  options.layers = {"classifier.0", "classifier.3"};
  auto targets = blocks::plan(*network, options, 1);
  trace::LogicalDevices devices(*network, targets, {1, 28, 28}, 3);
  auto events = devices.trace(1, 4, true, {}, 1).events;
  auto forward = graph_of(events, 0, trace::kForward);
  EXPECT_TRUE(acyclic(forward));
  EXPECT_EQ(sources(forward), std::set<std::int64_t>{devices.entry()});
  EXPECT_EQ(sinks(forward), std::set<std::int64_t>{devices.exit()});
  // classifier.0 row owners (8) send each of classifier.3's 8 columns to its 8 holders.
  std::int64_t owner_to_next = 0;
  const auto& layer = devices.layer_of_device();
  for (std::size_t e = 0; e < events.size(); ++e)
    if (events.phase[e] == 0 && layer[events.src[e]] == 4 && layer[events.dst[e]] == 5) ++owner_to_next;
  EXPECT_EQ(owner_to_next, 8 * 8);
}

TEST(Trace, WrittenAndReadBack) {
  test::SharedTempFile temp;
  auto network = models::build("mlp-mixnn", 1);
  auto targets = blocks::plan(*network, small(1), 1);
  trace::LogicalDevices devices(*network, targets, {1, 28, 28}, 7);
  auto events = devices.trace(2, 16, true, {}, 1).events;
  {
    auto file = h5::File::create(temp.path(), MPI_COMM_WORLD);
    trace::write_trace(devices.trace(2, 16, true, {}, 1), file.root());
  }
  auto file = h5::File::open(temp.path(), MPI_COMM_WORLD);
  auto trace = file.root().group("trace");
  EXPECT_EQ(trace.dataset("src").read<std::int64_t>(), events.src);
  EXPECT_EQ(trace.dataset("bytes").read<std::int64_t>(), events.bytes);
  EXPECT_EQ(trace.dataset("phase").shape(), (std::vector<hsize_t>{events.size()}));
  EXPECT_EQ(trace.dataset("truth/device_layer").read<std::int64_t>(), devices.layer_of_device());
  EXPECT_EQ(trace.attr_int("forward_entry"), devices.entry());
  EXPECT_EQ(trace.attr_string("layer_names"), "client\nlayers.0\nlayers.2\nlayers.4");
}

TEST(Trace, TimesFollowTheDataflow) {
  auto network = models::build("mlp-mixnn", 1);
  auto targets = blocks::plan(*network, small(2), 1);
  trace::LogicalDevices devices(*network, targets, {1, 28, 28}, 7);
  trace::DeploymentModel exact;
  exact.jitter = 0;
  const std::int64_t batch = 16;
  const auto file = devices.trace(2, batch, true, exact, 5);
  const auto& e = file.events;
  ASSERT_TRUE(e.timed());
  // Without jitter a client message takes exactly latency + bytes / bandwidth, from 0.
  std::int64_t from_client = 0;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.step[i] == 0 && e.phase[i] == trace::kForward && e.src[i] == devices.entry()) {
      ++from_client;
      EXPECT_EQ(e.t_start[i], 0.0);
      EXPECT_NEAR(e.t_end[i], exact.latency + static_cast<double>(e.bytes[i]) / exact.bandwidth, 1e-12);
    }
  EXPECT_GT(from_client, 1);  // sent in parallel: they overlap in time
  // seq is the order of t_start within a step and phase; passes follow one another.
  double previous_end = 0;
  for (std::int64_t s = 0; s < 2; ++s)
    for (std::int64_t phase : {trace::kForward, trace::kBackward}) {
      double begin = 1e300, end = 0, last_start = -1;
      std::int64_t next_seq = 0;
      for (std::size_t i = 0; i < e.size(); ++i) {
        if (e.step[i] != s || e.phase[i] != phase) continue;
        EXPECT_EQ(e.seq[i], next_seq++);
        EXPECT_GE(e.t_start[i], last_start);
        EXPECT_GT(e.t_end[i], e.t_start[i]);
        last_start = e.t_start[i];
        begin = std::min(begin, e.t_start[i]);
        end = std::max(end, e.t_end[i]);
      }
      EXPECT_GE(begin, previous_end);
      previous_end = end;
    }
  // The devices that are not cut (layers.2, layers.4) send only after all they receive has arrived.
  const auto& layer = devices.layer_of_device();
  for (std::int64_t device = 0; device < devices.count(); ++device) {
    if (layer[device] < 2) continue;
    double last_in = 0, first_out = 1e300;
    for (std::size_t i = 0; i < e.size(); ++i) {
      if (e.step[i] != 0 || e.phase[i] != trace::kForward) continue;
      if (e.dst[i] == device) last_in = std::max(last_in, e.t_end[i]);
      if (e.src[i] == device) first_out = std::min(first_out, e.t_start[i]);
    }
    if (first_out < 1e300) EXPECT_GT(first_out, last_in) << "device " << device;
  }
  // Same seed, same times; jitter draws from the seed.
  trace::DeploymentModel jittered;
  EXPECT_EQ(devices.trace(2, batch, true, jittered, 5).events.t_end, devices.trace(2, batch, true, jittered, 5).events.t_end);
  EXPECT_NE(devices.trace(2, batch, true, jittered, 5).events.t_end, devices.trace(2, batch, true, jittered, 6).events.t_end);
}

// Packet logs matched into events: the k-th send from a to b takes the k-th arrival
// at b from a; an arrival logged before its send (clock skew) is clamped to it; a
// packet never received has no end; a packet outside training joins the step in
// progress when it was sent; seq counts within a step and phase by send time.
TEST(PacketLog, SendsMatchArrivalsInOrder) {
  using trace::kBackward;
  using trace::kForward;
  const std::vector<trace::PacketSend> sends = {
      {0, 1, 10, -1, kForward, 0.5}, {0, 1, 20, 0, kForward, 1.0}, {0, 1, 40, -1, kForward, 2.0},
      {1, 2, 30, 0, kForward, 1.5},  {2, 0, 50, 1, kBackward, 3.0}};
  const std::vector<trace::PacketArrival> arrivals = {{1, 2, 1.8}, {0, 1, 0.7}, {0, 1, 0.9}, {0, 1, 2.5}};
  const auto e = trace::events_of_packets(sends, arrivals);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e.src, (std::vector<std::int64_t>{0, 0, 0, 1, 2}));
  EXPECT_EQ(e.dst, (std::vector<std::int64_t>{1, 1, 1, 2, 0}));
  EXPECT_EQ(e.bytes, (std::vector<std::int64_t>{10, 20, 40, 30, 50}));
  EXPECT_EQ(e.step, (std::vector<std::int64_t>{0, 0, 0, 0, 1}));
  EXPECT_EQ(e.phase, (std::vector<std::int64_t>{kForward, kForward, kForward, kForward, kBackward}));
  EXPECT_EQ(e.seq, (std::vector<std::int64_t>{0, 1, 3, 2, 0}));
  EXPECT_EQ(e.t_start, (std::vector<double>{0.5, 1.0, 2.0, 1.5, 3.0}));
  EXPECT_DOUBLE_EQ(e.t_end[0], 0.7);
  EXPECT_DOUBLE_EQ(e.t_end[1], 1.0);  // arrived at 0.9 by the receiver's clock
  EXPECT_DOUBLE_EQ(e.t_end[2], 2.5);
  EXPECT_DOUBLE_EQ(e.t_end[3], 1.8);
  EXPECT_TRUE(std::isnan(e.t_end[4]));
}
