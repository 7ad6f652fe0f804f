// The provider's cover traffic (src/streams/obfuscation*) on a served model's streams
// built by hand: what each move adds, that every pass stays one-way, that dummies are
// left out of the score, and that the searches keep every plan they score.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "streams/obfuscation_search.hpp"

using namespace tessera;
using streams::Move;
using streams::MoveKind;
using streams::Plan;

namespace {

// entry 0 -> a 1 -> block devices 2..5 -> b 6 -> block devices 7..9 -> exit 10, one
// step, forward at 1 s per hop and backward mirrored; every message 100 bytes.
trace::TraceFile served() {
  trace::TraceFile file;
  file.devices = 11;
  file.entry = 0;
  file.exit = 10;
  file.device_layer = std::vector<std::int64_t>{0, 1, 2, 2, 2, 2, 3, 4, 4, 4, 5};
  std::vector<std::pair<std::int64_t, std::int64_t>> arcs{{0, 1}};
  for (std::int64_t v = 2; v <= 5; ++v) arcs.insert(arcs.end(), {{1, v}, {v, 6}});
  for (std::int64_t v = 7; v <= 9; ++v) arcs.insert(arcs.end(), {{6, v}, {v, 10}});
  auto& e = file.events;
  const auto& layer = *file.device_layer;
  for (std::int64_t phase : {0, 1})
    for (const auto& [u, v] : arcs) {
      const auto src = phase == 0 ? u : v, dst = phase == 0 ? v : u;
      const double t = phase == 0 ? static_cast<double>(layer[u]) : 10.0 + static_cast<double>(5 - layer[v]);
      e.step.push_back(0);
      e.phase.push_back(phase);
      e.seq.push_back(static_cast<std::int64_t>(e.seq.size()));
      e.src.push_back(src);
      e.dst.push_back(dst);
      e.bytes.push_back(100);
      e.t_start.push_back(t);
      e.t_end.push_back(t + 0.5);
    }
  return file;
}

std::int64_t count_layer(const trace::TraceFile& file, std::int64_t layer) {
  return std::count(file.device_layer->begin(), file.device_layer->end(), layer);
}

}  // namespace

TEST(Obfuscation, AnEmptyPlanChangesNothingButTheIds) {
  const auto plain = served();
  streams::PlanCost cost;
  const auto same = streams::obfuscate_trace(plain, Plan{}, 3, &cost);
  EXPECT_EQ(same.devices, 11);
  EXPECT_EQ(same.events.size(), plain.events.size());
  EXPECT_EQ(cost.extra_bytes, 0);
  EXPECT_EQ(cost.extra_messages, 0);
  EXPECT_EQ(cost.new_arcs, 0);
  EXPECT_EQ(cost.arcs, 30);  // 15 streams a phase
  EXPECT_EQ((*same.device_layer)[*same.entry], 0);
  EXPECT_EQ((*same.device_layer)[*same.exit], 5);
  // Every eavesdropper divides the plain streams exactly.
  for (double ari : streams::judge(same, 0, 2).ari) EXPECT_DOUBLE_EQ(ari, 1.0);
}

TEST(Obfuscation, CoverFromTheEntryBreaksTheDepthOfItsTarget) {
  const auto plain = served();
  streams::PlanCost cost;
  const Plan plan{{{MoveKind::cover, 0, 7, 40}, {MoveKind::cover, 0, 8, 40}}, 0, 0};
  const auto covered = streams::obfuscate_trace(plain, plan, 3, &cost);
  EXPECT_EQ(cost.extra_messages, 4);  // each forward and mirrored backward
  EXPECT_EQ(cost.extra_bytes, 160);
  EXPECT_EQ(cost.new_arcs, 4);
  EXPECT_EQ(cost.dummies, 0);
  EXPECT_NEAR(cost.byte_fraction(), 160.0 / 3000.0, 1e-12);
  // Devices 7 and 8 are now one hop from the input, 9 still four.
  const auto judgement = streams::judge(covered, 0, 2);
  EXPECT_LT(judgement.ari[2], 0.99);
  // The cover leaves once both ends have been seen: forward, 7 and 8 first receive at 3 s.
  const auto& e = covered.events;
  for (std::size_t i = plain.events.size(); i < e.size(); ++i) {
    if (e.phase[i] == 0) EXPECT_DOUBLE_EQ(e.t_start[i], 3.0);
    EXPECT_NEAR(e.t_end[i] - e.t_start[i], 1e-3 + 40 / 1.25e8, 1e-12);
  }
}

TEST(Obfuscation, RelaysAndLoopsAddDummiesThatAreNotScored) {
  const auto plain = served();
  streams::PlanCost cost;
  const Plan plan{{{MoveKind::relay, 1, 9, 10}, {MoveKind::loop, 3, -1, 10}}, 0, 0};
  const auto out = streams::obfuscate_trace(plain, plan, 3, &cost);
  EXPECT_EQ(cost.dummies, 2);
  EXPECT_EQ(out.devices, 13);
  EXPECT_EQ(count_layer(out, -1), 2);
  EXPECT_EQ(count_layer(out, 2), 4);
  EXPECT_EQ(cost.extra_messages, 4 + 2);  // relay: two hops each way; loop: out forward, back backward
  // Every pass stays one-way, and the scores count the model's 11 devices only.
  const auto judgement = streams::judge(out, 0, 2);
  for (double ari : judgement.ari) EXPECT_GE(ari, -1.0);
  // A loop's dummy only receives forward and only sends backward.
  std::set<std::int64_t> dummies;
  for (std::int64_t d = 0; d < out.devices; ++d)
    if ((*out.device_layer)[d] < 0) dummies.insert(d);
  const auto& e = out.events;
  std::int64_t loop_dummy = -1;
  for (auto d : dummies) {
    bool sends_forward = false;
    for (std::size_t i = 0; i < e.size(); ++i) sends_forward |= e.phase[i] == 0 && e.src[i] == d;
    if (!sends_forward) loop_dummy = d;
  }
  ASSERT_GE(loop_dummy, 0);
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.phase[i] == 1 && e.dst[i] == loop_dummy) ADD_FAILURE() << "the loop's dummy receives backward";
}

TEST(Obfuscation, PaddingRoundsEveryMessageUpAndTheSameSeedGivesTheSameTrace) {
  const auto plain = served();
  streams::PlanCost cost;
  const Plan plan{{{MoveKind::cover, 1, 7, 30}}, 64, 0.25};
  const auto a = streams::obfuscate_trace(plain, plan, 5, &cost);
  for (auto b : a.events.bytes) EXPECT_EQ(b % 64, 0);
  EXPECT_EQ(cost.extra_bytes, 30 * (128 - 100) + 2 * 64);
  const auto b = streams::obfuscate_trace(plain, plan, 5);
  EXPECT_EQ(a.events.src, b.events.src);
  EXPECT_EQ(a.events.seq, b.events.seq);
  EXPECT_EQ(a.events.t_start, b.events.t_start);
  // seq is the order of t_start within each phase.
  const auto& e = a.events;
  for (std::size_t i = 0; i < e.size(); ++i)
    for (std::size_t j = 0; j < e.size(); ++j)
      if (e.phase[i] == e.phase[j] && e.t_start[i] < e.t_start[j]) EXPECT_LT(e.seq[i], e.seq[j]);
}

TEST(Obfuscation, BadPlansAreRefused) {
  const auto plain = served();
  EXPECT_THROW(streams::obfuscate_trace(plain, Plan{{{MoveKind::cover, 0, 11, 1}}, 0, 0}, 1), Error);
  EXPECT_THROW(streams::obfuscate_trace(plain, Plan{{{MoveKind::relay, 4, 4, 1}}, 0, 0}, 1), Error);
  auto no_truth = plain;
  no_truth.device_layer.reset();
  EXPECT_THROW(streams::obfuscate_trace(no_truth, Plan{}, 1), Error);
}

TEST(Obfuscation, SearchesKeepEveryPlanAndOnlyEverSendForward) {
  const auto plain = served();
  streams::SearchSettings settings;
  settings.evaluations = 12;
  settings.bundle = 2;
  streams::PlanSearch search(plain, settings);
  streams::search_greedy(search);
  const auto greedy = search.points().size();
  EXPECT_GE(greedy, 1u);
  EXPECT_LE(greedy, 12u);
  streams::search_evolutionary(search);
  EXPECT_EQ(search.points().size(), greedy + 12);
  // The first point is the plain trace. Every plan was scored (so its passes were one-way:
  // observe() refuses a cycle), and every move goes to a device no earlier in the flow.
  EXPECT_DOUBLE_EQ(search.points().front().judgement.worst(), 1.0);
  const auto& layer = *plain.device_layer;
  for (const auto& point : search.points())
    for (const auto& move : point.plan.moves)
      if (move.kind != MoveKind::loop) EXPECT_LE(layer[move.from], layer[move.to]);
  // The front: no point on it is beaten on all three, and it is sorted by extra bytes.
  const auto front = streams::pareto_front(search.points());
  ASSERT_FALSE(front.empty());
  for (std::size_t k = 1; k < front.size(); ++k)
    EXPECT_LE(search.points()[front[k - 1]].cost.byte_fraction(), search.points()[front[k]].cost.byte_fraction());
  EXPECT_EQ(front.front(), 0u);  // nothing is cheaper than the plain trace
}
