// The provider's cover traffic (src/streams/obfuscation*) on a served model's streams
// built by hand: what each move adds, that every pass stays one-way, that dummies are
// left out of the score, and that the searches keep every plan they score.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "streams/obfuscation_search.hpp"
#include "stream_fixtures.hpp"

using namespace tessera;
using streams::Move;
using streams::MoveKind;
using streams::Plan;
using test::served;

namespace {

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
  // Every eavesdropper divides the plain streams exactly, but the size eavesdropper:
  // layers 2 and 4 send and receive alike (one message of 100 bytes each way).
  const auto judgement = streams::judge(same, 0, 2);
  ASSERT_EQ(judgement.ari.size(), streams::eavesdroppers().size());
  for (std::size_t m = 0; m < judgement.ari.size(); ++m)
    if (std::string(streams::eavesdroppers()[m].name) == "sizes") EXPECT_LT(judgement.ari[m], 0.9);
    else EXPECT_DOUBLE_EQ(judgement.ari[m], 1.0) << streams::eavesdroppers()[m].name;
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
  // The relay's dummy forwards after a real device's compute time: in the hand-built
  // trace every device leaves 0.5 s after its input has arrived.
  for (auto d : dummies) {
    if (d == loop_dummy) continue;
    double arrived = -1, left = -1;
    for (std::size_t i = 0; i < e.size(); ++i)
      if (e.phase[i] == 0 && e.dst[i] == d) arrived = e.t_end[i];
      else if (e.phase[i] == 0 && e.src[i] == d) left = e.t_start[i];
    EXPECT_NEAR(left - arrived, 0.5, 1e-12);
  }
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
  EXPECT_EQ(search.tuned().size(), streams::eavesdroppers().size());  // none named: all
  const auto& layer = *plain.device_layer;
  for (const auto& point : search.points())
    for (const auto& move : point.plan.moves)
      if (streams::sends_to(move.kind)) EXPECT_LE(layer[move.from], layer[move.to]);
  // The front: no point on it is beaten on all three, and it is sorted by extra bytes.
  const auto front = streams::pareto_front(search.points(), search.tuned());
  ASSERT_FALSE(front.empty());
  for (std::size_t k = 1; k < front.size(); ++k)
    EXPECT_LE(search.points()[front[k - 1]].cost.byte_fraction(), search.points()[front[k]].cost.byte_fraction());
  EXPECT_EQ(front.front(), 0u);  // nothing is cheaper than the plain trace
}

TEST(Obfuscation, CombineJoinsTheBestPlansAgainstEachEavesdropperAndNeverLosesGround) {
  const auto plain = served();
  streams::SearchSettings settings;
  settings.evaluations = 12;
  settings.bundle = 2;
  streams::PlanSearch search(plain, settings);
  streams::search_combine(search);  // nothing scored yet: nothing to combine
  EXPECT_TRUE(search.points().empty());
  streams::search_greedy(search);
  streams::search_evolutionary(search);
  const auto before = search.points().size();
  double least = search.points().front().loss;
  for (const auto& point : search.points()) least = std::min(least, point.loss);
  streams::search_combine(search);
  const auto& points = search.points();
  ASSERT_GT(points.size(), before);
  EXPECT_LE(points.size(), before + 12);
  // It starts from the plan of least loss, and every union keeps that plan's moves.
  const auto& start = points[before];
  EXPECT_EQ(start.optimiser, "combine");
  EXPECT_DOUBLE_EQ(start.loss, least);
  for (std::size_t i = before; i < points.size(); ++i) {
    ASSERT_GE(points[i].plan.moves.size(), start.plan.moves.size());
    for (std::size_t m = 0; m < start.plan.moves.size(); ++m) {
      EXPECT_EQ(points[i].plan.moves[m].from, start.plan.moves[m].from);
      EXPECT_EQ(points[i].plan.moves[m].to, start.plan.moves[m].to);
    }
  }
}
