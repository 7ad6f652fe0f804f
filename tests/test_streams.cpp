// The eavesdropper's divisions (src/streams/division.*) on graphs built by hand, and
// the reachable counts against a breadth-first search on random graphs.
#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "core/error.hpp"
#include "streams/division.hpp"
#include "streams/view.hpp"

using namespace tessera;
using streams::DeviceGraph;

namespace {

// A served model as its streams show it: entry (0) -> a (1) -> four block devices
// (2..5) -> b (6) -> three block devices (7..9) -> exit (10). Layers: 0, 1, 2, 3, 4, 5.
DeviceGraph layered(std::vector<std::int64_t>* layer) {
  DeviceGraph g{11, {{0, 1}}};
  for (std::int64_t v = 2; v <= 5; ++v) g.arcs.insert(g.arcs.end(), {{1, v}, {v, 6}});
  for (std::int64_t v = 7; v <= 9; ++v) g.arcs.insert(g.arcs.end(), {{6, v}, {v, 10}});
  *layer = {0, 1, 2, 2, 2, 2, 3, 4, 4, 4, 5};
  return g;
}

std::vector<double> in_id_order(std::int64_t n) {
  std::vector<double> t(n);
  for (std::int64_t v = 0; v < n; ++v) t[v] = static_cast<double>(v);
  return t;
}

std::vector<std::int64_t> reachable_by_search(const DeviceGraph& g) {
  std::vector<std::vector<std::int64_t>> next(g.vertices);
  for (const auto& [u, v] : g.arcs) next[u].push_back(v);
  std::vector<std::int64_t> counts(g.vertices);
  for (std::int64_t s = 0; s < g.vertices; ++s) {
    std::vector<bool> seen(g.vertices, false);
    std::deque<std::int64_t> queue{s};
    std::int64_t reached = 0;
    while (!queue.empty()) {
      const auto u = queue.front();
      queue.pop_front();
      for (auto v : next[u])
        if (!seen[v]) {
          seen[v] = true;
          reached += v != s;
          queue.push_back(v);
        }
    }
    counts[s] = reached;
  }
  return counts;
}

}  // namespace

TEST(Streams, SequentialDivisionFindsTheSingleDeviceLayersAsPivots) {
  std::vector<std::int64_t> layer;
  const auto g = layered(&layer);
  const auto d = streams::divide_sequential(g, 0, 10, in_id_order(11));
  EXPECT_EQ(d.connectivity, 1);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 1, 6, 10}));
  EXPECT_EQ(d.group, layer);
  const auto score = streams::score_division(d.group, layer);
  EXPECT_DOUBLE_EQ(score.adjusted_rand_index, 1.0);
  EXPECT_DOUBLE_EQ(score.exact_fraction, 1.0);
  EXPECT_EQ(score.groups_found, 6);
  EXPECT_EQ(score.layers, 6);
}

TEST(Streams, PivotsAreOrderedByWhenTheyAreFirstSeen) {
  std::vector<std::int64_t> layer;
  const auto g = layered(&layer);
  auto seen = in_id_order(11);
  seen[6] = 0.5;  // b seen before a: the pivots' order (not the groups' membership) follows
  const auto d = streams::divide_sequential(g, 0, 10, seen);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 6, 1, 10}));
}

TEST(Streams, OnlyVerticesOfSomeMinimumCutArePivots) {
  // entry -> a -> {b, c} (b -> c too) -> d -> exit, and e off every entry-exit path.
  const DeviceGraph g{7, {{0, 1}, {1, 2}, {1, 3}, {2, 3}, {2, 4}, {3, 4}, {4, 5}, {6, 4}}};
  const auto d = streams::divide_sequential(g, 0, 5, in_id_order(7));
  EXPECT_EQ(d.connectivity, 1);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 1, 4, 5}));
  EXPECT_EQ(d.group[2], d.group[3]);
  EXPECT_EQ(d.group[6], -1);  // no pivot reaches it
}

TEST(Streams, TwoDisjointPathsHaveConnectivityTwo) {
  // entry -> a1 -> b1 -> exit and entry -> a2 -> b2 -> exit: every inner vertex lies in a
  // minimum cut ({a1, a2}, {a1, b2}, ...).
  const DeviceGraph g{6, {{0, 1}, {1, 2}, {2, 5}, {0, 3}, {3, 4}, {4, 5}}};
  const auto d = streams::divide_sequential(g, 0, 5, {0, 1, 2, 1, 2, 3});
  EXPECT_EQ(d.connectivity, 2);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 1, 3, 2, 4, 5}));
  // An arc straight from the entry to the exit: no set of other devices separates them.
  EXPECT_EQ(streams::divide_sequential({2, {{0, 1}}}, 0, 1, {0, 1}).connectivity, -1);
}

TEST(Streams, FlattenedDivisionWithThresholdTwo) {
  std::vector<std::int64_t> layer;
  const auto g = layered(&layer);
  const auto d = streams::divide_flattened(g, 2);
  EXPECT_EQ(d.reachable, (std::vector<std::int64_t>{10, 9, 5, 5, 5, 5, 4, 1, 1, 1, 0}));
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 1, 6, 10}));
  EXPECT_EQ(d.group, layer);
  // A threshold above every count's frequency: all are pivots, each count its own group.
  EXPECT_EQ(streams::divide_flattened(g, 5).groups, 6);
  // Threshold 1: no pivots, one group.
  EXPECT_EQ(streams::divide_flattened(g, 1).groups, 1);
  EXPECT_THROW(streams::divide_flattened(g, 0), Error);
}

TEST(Streams, ReachableCountsMatchASearchWithCyclesAndManyBlocks) {
  EXPECT_EQ(streams::reachable_counts({4, {{0, 1}, {1, 2}, {2, 1}, {2, 3}}}),
            (std::vector<std::int64_t>{3, 2, 2, 0}));
  // More components than one block of bits (4096), a few cycles among them.
  std::mt19937_64 rng(11);
  DeviceGraph g{5000, {}};
  std::uniform_int_distribution<std::int64_t> any(0, g.vertices - 1);
  for (int i = 0; i < 12000; ++i) {
    auto u = any(rng), v = any(rng);
    if (u > v) std::swap(u, v);
    if (u != v) g.arcs.emplace_back(u, v);
  }
  for (int i = 0; i < 20; ++i) g.arcs.emplace_back(any(rng), any(rng));
  EXPECT_EQ(streams::reachable_counts(g), reachable_by_search(g));
}

TEST(Streams, AdjustedRandIndex) {
  EXPECT_DOUBLE_EQ(streams::adjusted_rand_index({0, 0, 1, 1, 2}, {5, 5, 3, 3, 9}), 1.0);
  EXPECT_DOUBLE_EQ(streams::adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5);
  // scikit-learn's adjusted_rand_score([0,0,0,1,1,1], [0,0,1,1,2,2]) = 0.24242424...
  EXPECT_NEAR(streams::adjusted_rand_index({0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 2, 2}), 8.0 / 33.0, 1e-12);
}

TEST(Streams, BadGraphsAreRefusedNamingTheProblem) {
  try {
    streams::reachable_counts({3, {{0, 3}}});
    FAIL() << "a stream to device 3 of 3 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("0 -> 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(streams::divide_sequential({3, {{0, 1}}}, 1, 1, {0, 0, 0}), Error);
  EXPECT_THROW(streams::divide_sequential({3, {{0, 1}}}, 0, 2, {0, 0}), Error);
}

// Two adjacent layers cut, as tessera's traces show them: entry 0 -> layer A's block
// devices 1, 2, 3 (partial sums 1 -> 3, 2 -> 3; 3 owns the row) -> 3 sends its slice
// to layer B's devices 4, 5, 6 (partials 4 -> 6, 5 -> 6) -> 6 -> exit 7. No single
// device separates A from B, but every device is one hop further from the input.
TEST(Streams, DepthDividesAdjacentCutLayersExactly) {
  DeviceGraph g{8, {{0, 1}, {0, 2}, {0, 3}, {1, 3}, {2, 3}, {3, 4}, {3, 5}, {3, 6}, {4, 6}, {5, 6}, {6, 7}}};
  const std::vector<std::int64_t> layer{0, 1, 1, 1, 2, 2, 2, 3};
  const auto forward = streams::divide_by_depth(g, 0, false);
  EXPECT_EQ(forward.depth, (std::vector<std::int64_t>{0, 1, 1, 1, 2, 2, 2, 3}));
  EXPECT_EQ(forward.groups, 4);
  EXPECT_EQ(forward.pivots, (std::vector<std::int64_t>{0, 7}));
  EXPECT_DOUBLE_EQ(streams::score_division(forward.group, layer).adjusted_rand_index, 1.0);
  // The backward phase: every stream reversed; depth is counted from the input, against the arcs.
  DeviceGraph back{8, {}};
  for (const auto& [u, v] : g.arcs) back.arcs.emplace_back(v, u);
  EXPECT_EQ(streams::divide_by_depth(back, 0, true).group, forward.group);
  // Algorithm 2 merges A and B: no count is rare between them.
  EXPECT_LT(streams::score_division(streams::divide_flattened(g, 2).group, layer).adjusted_rand_index, 1.0);
  // A cover stream that skips a layer pulls device 5 one hop nearer the input.
  g.arcs.emplace_back(0, 5);
  const auto covered = streams::divide_by_depth(g, 0, false);
  EXPECT_EQ(covered.group[5], covered.group[1]);
  EXPECT_LT(streams::score_division(covered.group, layer).adjusted_rand_index, 1.0);
  // A device the origin never reaches has no group.
  g.vertices = 9;
  EXPECT_EQ(streams::divide_by_depth(g, 0, false).group[8], -1);
  EXPECT_THROW(streams::divide_by_depth(g, 9, false), Error);
}

// The paper's section VI figures, rebuilt from its text (the text copy has no figure
// images; the graphs below are ours, and every expected value is computed by hand,
// exact by construction).
//
// Figs. 9 and 10: a MapReduce system (Dean & Ghemawat 2004, Fig. 1) as the dataflow an
// eavesdropper sees: user program (entry, 0) -> master (1) -> input splits 2..6 ->
// map workers 7 (splits 2, 3), 8 (splits 4, 5), 9 (split 6) -> every map worker
// streams to both reduce workers 10, 11 (the shuffle) -> output files 12 (of 10) and
// 13 (of 11) -> the collector (exit, 14). The control messages of the original
// diagram (fork, assign map/reduce) are left out: they carry no data. Stages:
// user 0, master 1, splits 2, maps 3, reduces 4, outputs 5, exit 6.
namespace {

DeviceGraph map_reduce(std::vector<std::int64_t>* stage, std::vector<double>* first_seen) {
  DeviceGraph g{15, {{0, 1}}};
  for (std::int64_t split = 2; split <= 6; ++split) g.arcs.emplace_back(1, split);
  g.arcs.insert(g.arcs.end(), {{2, 7}, {3, 7}, {4, 8}, {5, 8}, {6, 9}});
  for (std::int64_t map = 7; map <= 9; ++map)
    for (std::int64_t reduce = 10; reduce <= 11; ++reduce) g.arcs.emplace_back(map, reduce);
  g.arcs.insert(g.arcs.end(), {{10, 12}, {11, 13}, {12, 14}, {13, 14}});
  *stage = {0, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6};
  // The times in dataflow order: a device is first seen when its stage's streams start.
  first_seen->assign(stage->begin(), stage->end());
  return g;
}

}  // namespace

// The paper (Fig. 10 and Algorithm 1): "it is easy to find the joint point in the
// topology", and the k-cut vertices with the entry and exit as pivots divide the
// graph into layers. In this dataflow the only joint point is the master: every
// entry -> exit path passes it (k = 1), while 5 splits, 3 maps, 2 reduces and 2
// outputs each leave parallel paths, and the all-to-all shuffle has no single joint
// vertex between maps and reduces. So the pivots are entry, master, exit, and
// splits, maps, reduces and outputs all fall into the one group after the master:
// Algorithm 1 does not separate the map workers from the reduce workers here.
TEST(Streams, Fig9And10MapReduceSequentialDivision) {
  std::vector<std::int64_t> stage;
  std::vector<double> first_seen;
  const auto g = map_reduce(&stage, &first_seen);
  const auto d = streams::divide_sequential(g, 0, 14, first_seen);
  EXPECT_EQ(d.connectivity, 1);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 1, 14}));
  EXPECT_EQ(d.group, (std::vector<std::int64_t>{0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3}));
  EXPECT_EQ(d.groups, 4);
  EXPECT_EQ(d.group[7], d.group[10]);  // a map worker and a reduce worker: one group
  const auto score = streams::score_division(d.group, stage);
  EXPECT_LT(score.adjusted_rand_index, 1.0);
  EXPECT_EQ(score.groups_found, 4);
  EXPECT_EQ(score.layers, 7);
  // Without the master (the user program hands the splits out itself, device 1 idle)
  // no single device is a joint point: k = 2, the minimum cuts are {10, 11}, {12, 13},
  // {10, 13} and {11, 12}, so reduces and outputs are pivots, and splits and maps
  // share the group after the entry.
  DeviceGraph no_master{15, {}};
  for (const auto& [u, v] : g.arcs)
    if (u != 0) no_master.arcs.emplace_back(u == 1 ? 0 : u, v);
  const auto without = streams::divide_sequential(no_master, 0, 14, first_seen);
  EXPECT_EQ(without.connectivity, 2);
  EXPECT_EQ(without.pivots, (std::vector<std::int64_t>{0, 10, 11, 12, 13, 14}));
  EXPECT_EQ(without.group, (std::vector<std::int64_t>{0, -1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6}));
}

// The depth eavesdropper needs no joint point: every stage is one hop further from
// the user program, so maps and reduces (and every other stage) are told apart.
TEST(Streams, Fig9DepthSeparatesMapAndReduceWorkers) {
  std::vector<std::int64_t> stage;
  std::vector<double> first_seen;
  const auto g = map_reduce(&stage, &first_seen);
  const auto d = streams::divide_by_depth(g, 0, false);
  EXPECT_EQ(d.depth, stage);
  EXPECT_EQ(d.group, stage);
  EXPECT_EQ(d.groups, 7);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 1, 14}));
  EXPECT_NE(d.group[7], d.group[10]);
  const auto score = streams::score_division(d.group, stage);
  EXPECT_DOUBLE_EQ(score.adjusted_rand_index, 1.0);
  EXPECT_DOUBLE_EQ(score.exact_fraction, 1.0);
}

// Figs. 11 and 12: "a system exploiting the pipeline", divided by Algorithm 2 with
// threshold 2. Our pipeline: input 0 -> two parallel devices 1, 2 -> joint 3 -> three
// parallel devices 4, 5, 6 -> joint 7 -> two parallel devices 8, 9 -> output 10.
// Reachable counts (Fig. 12 marks them on the blocks), by hand: output 0; 8, 9 reach
// the output (1); joint 7 reaches 8, 9, 10 (3); 4, 5, 6 reach 7 and on (4); joint 3
// reaches 4..10 (7); 1, 2 reach 3..10 (8); the input reaches all 10. Counts seen once
// (fewer than 2 times): 10, 7, 3, 0, i.e. the single devices, which are the pivots
// (Fig. 12's starred blocks); every parallel stage has its own count between them.
TEST(Streams, Fig11And12PipelineFlattenedDivisionWithThresholdTwo) {
  DeviceGraph g{11, {}};
  for (std::int64_t v : {1, 2}) g.arcs.insert(g.arcs.end(), {{0, v}, {v, 3}});
  for (std::int64_t v : {4, 5, 6}) g.arcs.insert(g.arcs.end(), {{3, v}, {v, 7}});
  for (std::int64_t v : {8, 9}) g.arcs.insert(g.arcs.end(), {{7, v}, {v, 10}});
  const std::vector<std::int64_t> stage{0, 1, 1, 2, 3, 3, 3, 4, 5, 5, 6};
  const auto d = streams::divide_flattened(g, 2);
  EXPECT_EQ(d.reachable, (std::vector<std::int64_t>{10, 8, 8, 7, 4, 4, 4, 3, 1, 1, 0}));
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{0, 3, 7, 10}));
  EXPECT_EQ(d.group, stage);
  EXPECT_EQ(d.groups, 7);
  const auto score = streams::score_division(d.group, stage);
  EXPECT_DOUBLE_EQ(score.adjusted_rand_index, 1.0);
  EXPECT_DOUBLE_EQ(score.exact_fraction, 1.0);
}

// A cascade 0 -> 1 -> 2 -> 3 (exit 3) with cover traffic that runs back along it
// (2 -> 1, sent after 1 and 2 were first seen): the ordered view sets the backward
// stream aside and divides the flow; the flat view, with no order, refuses the cycle.
TEST(Streams, AStreamAgainstTheOrderOfFirstAppearanceIsSetAsideWhenTheyFormACycle) {
  trace::TraceFile file;
  file.devices = 4;
  file.entry = 0;
  file.exit = 3;
  auto& e = file.events;
  const std::vector<std::pair<std::int64_t, std::int64_t>> sent = {{0, 1}, {1, 2}, {2, 1}, {2, 3}};
  for (std::size_t k = 0; k < sent.size(); ++k) {
    e.step.push_back(0);
    e.phase.push_back(trace::kForward);
    e.seq.push_back(static_cast<std::int64_t>(k));
    e.src.push_back(sent[k].first);
    e.dst.push_back(sent[k].second);
    e.bytes.push_back(100);
  }
  const auto seen = streams::observe(file, 0, trace::kForward, streams::View::ordered);
  EXPECT_EQ(seen.set_aside, 1);
  EXPECT_EQ(seen.streams, 4);
  EXPECT_EQ(seen.graph.arcs, (std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 1}, {1, 2}, {2, 3}}));
  EXPECT_LT(streams::on_a_cycle(seen.graph), 0);
  EXPECT_THROW(streams::observe(file, 0, trace::kForward, streams::View::flat), Error);

  // Without the backward stream nothing is set aside and the graph is the streams'.
  for (auto* column : {&e.step, &e.phase, &e.seq, &e.src, &e.dst, &e.bytes}) column->erase(column->begin() + 2);
  const auto plain = streams::observe(file, 0, trace::kForward, streams::View::flat);
  EXPECT_EQ(plain.set_aside, 0);
  EXPECT_EQ(plain.graph.arcs.size(), 3u);
}
