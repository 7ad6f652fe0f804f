// tessera's timing, size, structure and spectral eavesdroppers, with and without the
// number of layers told (src/streams/feature_division.cpp, src/streams/spectral_division.cpp,
// the table in src/streams/eavesdroppers.*) on traces built by hand: a case each
// solves exactly and a case it cannot; and the holds a plan applies (delays, lead
// cover), which keep every device's sends after the real messages it waited for.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.hpp"
#include "stream_fixtures.hpp"
#include "streams/eavesdroppers.hpp"
#include "streams/obfuscation.hpp"

using namespace tessera;
using streams::MoveKind;
using streams::Plan;
using test::served;

namespace {

double ari_of(const std::string& name, const trace::TraceFile& file) {
  return streams::judge(file, 0, 2).ari.at(streams::eavesdropper_index(name, "test"));
}

streams::Division forward_division(const std::string& name, const trace::TraceFile& file) {
  const auto seen = streams::observe(file, 0, trace::kForward, streams::View::timed);
  return streams::divide(name, seen, trace::kForward, 2).division;
}

}  // namespace

TEST(Eavesdroppers, GapsFindTheNumberOfGroupsThemselves) {
  const double never = streams::kNeverSeen;
  // Three clusters of equal times a second apart: three groups, in time order.
  auto d = streams::divide_by_gaps({5, 0, 0, 1, 5, 1, 0});
  EXPECT_EQ(d.groups, 3);
  EXPECT_EQ(d.group, (std::vector<std::int64_t>{2, 0, 0, 1, 2, 1, 0}));
  // Clusters spread by jitter far smaller than the gaps between them.
  d = streams::divide_by_gaps({0, 0.001, 0.002, 1.0, 1.003, 2.0, 2.001});
  EXPECT_EQ(d.groups, 3);
  EXPECT_EQ(d.group, (std::vector<std::int64_t>{0, 0, 0, 1, 1, 2, 2}));
  // Evenly spread times: no gap stands out, one group.
  d = streams::divide_by_gaps({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(d.groups, 1);
  // Devices never seen are a group of their own; a group of one is a pivot.
  d = streams::divide_by_gaps({never, 0, 0, 3, 3, 6});
  EXPECT_EQ(d.groups, 4);
  EXPECT_EQ(d.group[0], 3);
  EXPECT_EQ(d.pivots, (std::vector<std::int64_t>{5, 0}));
  EXPECT_THROW(streams::divide_by_gaps({0, std::nan("")}), Error);
}

TEST(Eavesdroppers, TimingDividesAnUnobfuscatedServedTraceExactly) {
  const auto plain = served();
  EXPECT_DOUBLE_EQ(ari_of("first-arrival", plain), 1.0);
  EXPECT_DOUBLE_EQ(ari_of("first-departure", plain), 1.0);
  // The entry receives nothing forward: a group of its own, after the five layers.
  const auto d = forward_division("first-arrival", plain);
  EXPECT_EQ(d.groups, 6);
  EXPECT_EQ(d.group[0], 5);
}

TEST(Eavesdroppers, LeadCoverMergesTwoLayersForFirstArrivalButNotForFirstDeparture) {
  // Device 1 sends to 7, 8 and 9 as soon as it is seen (its own input starts at 0 s):
  // they are first reached with device 1, which the first-arrival eavesdropper then
  // cannot tell apart from them.
  const Plan plan{{{MoveKind::lead, 1, 7, 100}, {MoveKind::lead, 1, 8, 100}, {MoveKind::lead, 1, 9, 100}}, 0, 0};
  const auto covered = streams::obfuscate_trace(served(), plan, 3);
  const auto d = forward_division("first-arrival", covered);
  const auto& layer = *covered.device_layer;
  for (std::int64_t v = 0; v < covered.devices; ++v)
    for (std::int64_t w = 0; w < covered.devices; ++w)
      if (layer[v] == 1 && layer[w] == 4) EXPECT_EQ(d.group[v], d.group[w]);
  EXPECT_LT(ari_of("first-arrival", covered), 1.0);
  // They still send only once their real input is in: their departures keep them
  // apart from layer 2 (device 1's own departure is now its lead cover's).
  const auto departures = forward_division("first-departure", covered);
  for (std::int64_t v = 0; v < covered.devices; ++v)
    for (std::int64_t w = 0; w < covered.devices; ++w)
      if (layer[v] == 2 && layer[w] == 4) EXPECT_NE(departures.group[v], departures.group[w]);
  EXPECT_GT(ari_of("first-departure", covered), ari_of("first-arrival", covered));
}

TEST(Eavesdroppers, SizesDivideDistinctTrafficExactlyAndMergeEqualTraffic) {
  auto plain = served();
  // Layer 4 sends 300 bytes instead of 100: every layer's traffic is its own.
  auto distinct = plain;
  for (std::size_t i = 0; i < distinct.events.size(); ++i)
    if ((*distinct.device_layer)[distinct.events.src[i]] == 4 && distinct.events.phase[i] == 0)
      distinct.events.bytes[i] = 300;
  const auto d = forward_division("sizes", distinct);
  EXPECT_DOUBLE_EQ(streams::score_division(d.group, *distinct.device_layer).adjusted_rand_index, 1.0);
  // In the plain trace layers 2 and 4 send and receive alike: merged.
  const auto merged = forward_division("sizes", plain);
  EXPECT_EQ(merged.group[2], merged.group[7]);
  EXPECT_LT(streams::score_division(merged.group, *plain.device_layer).adjusted_rand_index, 0.9);
  // No sizes in the edges view.
  const auto edges = streams::observe(plain, 0, trace::kForward, streams::View::edges);
  EXPECT_THROW(streams::divide("sizes", edges, trace::kForward, 2), Error);
}

TEST(Eavesdroppers, StructureGroupsDevicesWithTheSameNeighboursOnly) {
  // The served streams: each layer's devices share their senders and receivers.
  const auto plain = served();
  EXPECT_DOUBLE_EQ(ari_of("structure", plain), 1.0);
  // Rows with owners of their own: entry 0 -> 1..4 (layer 1); 1, 2 -> 5 and 3, 4 -> 6
  // (layer 2, two row owners) -> exit 7. Each row is a group; depth still divides it.
  const streams::DeviceGraph rows{8, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 5}, {2, 5}, {3, 6}, {4, 6}, {5, 7}, {6, 7}}};
  const std::vector<std::int64_t> layer{0, 1, 1, 1, 1, 2, 2, 3};
  const auto d = streams::divide_by_neighbours(rows);
  EXPECT_EQ(d.group[1], d.group[2]);
  EXPECT_NE(d.group[2], d.group[3]);
  EXPECT_NE(d.group[5], d.group[6]);
  EXPECT_LT(streams::score_division(d.group, layer).adjusted_rand_index, 0.9);
  EXPECT_DOUBLE_EQ(
      streams::score_division(streams::divide_by_depth(rows, 0, false).group, layer).adjusted_rand_index, 1.0);
}

TEST(Eavesdroppers, SpectralGroupsDevicesThatShareMostOfTheirNeighbours) {
  auto ari = [](const streams::Division& d, const std::vector<std::int64_t>& layer) {
    return streams::score_division(d.group, layer).adjusted_rand_index;
  };
  const auto plain = served();
  EXPECT_DOUBLE_EQ(ari_of("spectral", plain), 1.0);
  // Rows with owners of their own (structure splits layer 1 by rows): layer 1's
  // devices share their sender, layer 2's their receiver, so each layer is found.
  const streams::DeviceGraph rows{8, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 5}, {2, 5}, {3, 6}, {4, 6}, {5, 7}, {6, 7}}};
  const std::vector<std::int64_t> layer{0, 1, 1, 1, 1, 2, 2, 3};
  auto d = streams::divide_spectrally(rows);
  EXPECT_EQ(d.groups, 4);
  EXPECT_DOUBLE_EQ(ari(d, layer), 1.0);
  EXPECT_EQ(streams::divide_spectrally(rows).group, d.group);  // the same division every time
  // More separate layers (a chain of single devices) than the embedding is wide:
  // the layers are the blocks of the similarity, found exactly.
  streams::DeviceGraph chain{20, {}};
  std::vector<std::int64_t> own(20);
  for (std::int64_t v = 0; v < 20; ++v) {
    own[v] = v;
    if (v + 1 < 20) chain.arcs.push_back({v, v + 1});
  }
  EXPECT_DOUBLE_EQ(ari(streams::divide_spectrally(chain), own), 1.0);
  // What it cannot do: devices of two layers with the same senders and receivers.
  const streams::DeviceGraph twins{6, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 5}, {2, 5}, {3, 5}, {4, 5}}};
  d = streams::divide_spectrally(twins);
  EXPECT_EQ(d.group[1], d.group[3]);
  EXPECT_LT(ari(d, {0, 1, 1, 2, 2, 3}), 0.9);
  // A device with no stream is a group of its own.
  d = streams::divide_spectrally({3, {{0, 1}}});
  EXPECT_NE(d.group[2], d.group[0]);
  EXPECT_NE(d.group[2], d.group[1]);
}

TEST(Eavesdroppers, ToldTheNumberOfLayersTheyDivideWhatTheirInferenceCannot) {
  auto ari = [](const streams::Division& d, const std::vector<std::int64_t>& layer) {
    return streams::score_division(d.group, layer).adjusted_rand_index;
  };
  // Three layers 1 s and 0.5 s apart and a last device far later: the widest gap
  // stands out most, so the inference cuts only there (two groups); told four
  // groups, it cuts the three widest.
  const std::vector<double> times{0, 0, 0, 1, 1, 1, 1.5, 1.5, 1.5, 10};
  const std::vector<std::int64_t> layer_of_time{0, 0, 0, 1, 1, 1, 2, 2, 2, 3};
  EXPECT_EQ(streams::divide_by_gaps(times).groups, 2);
  auto d = streams::divide_by_gaps(times, 4);
  EXPECT_EQ(d.groups, 4);
  EXPECT_DOUBLE_EQ(ari(d, layer_of_time), 1.0);
  // Devices never seen count as one of the groups told.
  d = streams::divide_by_gaps({streams::kNeverSeen, 0, 0, 1, 1}, 3);
  EXPECT_EQ(d.groups, 3);
  EXPECT_DOUBLE_EQ(ari(d, {2, 0, 0, 1, 1}), 1.0);
  // What no count helps: two layers whose times interleave.
  EXPECT_LT(ari(streams::divide_by_gaps({0, 2, 1, 3}, 2), {0, 0, 1, 1}), 0.5);

  // Entry 0 -> layer 1 (1..6) -> layer 2 (7..12), each of layer 1 sending to two of
  // layer 2 -> exit 13; then cover from the entry to three of layer 2 and from three
  // of layer 1 to the exit. The eigenvalues' widest gap is then the first: the
  // inference takes one group. Told the four layers, it finds them.
  streams::DeviceGraph graph{14, {}};
  for (std::int64_t v = 1; v <= 6; ++v) {
    graph.arcs.push_back({0, v});
    graph.arcs.push_back({v, 7 + (v - 1) % 6});
    graph.arcs.push_back({v, 7 + v % 6});
    graph.arcs.push_back({v + 6, 13});
  }
  const std::vector<std::int64_t> layer{0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3};
  for (auto [u, v] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 7}, {0, 8}, {0, 9}, {1, 13}, {2, 13}, {3, 13}})
    graph.arcs.push_back({u, v});
  EXPECT_LT(ari(streams::divide_spectrally(graph), layer), 0.5);
  d = streams::divide_spectrally(graph, 1, 4);
  EXPECT_EQ(d.groups, 4);
  EXPECT_GT(ari(d, layer), 0.9);
  // What no count helps: two layers with the same senders and receivers.
  const streams::DeviceGraph twins{6, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 5}, {2, 5}, {3, 5}, {4, 5}}};
  EXPECT_LT(ari(streams::divide_spectrally(twins, 1, 4), {0, 1, 1, 2, 2, 3}), 0.9);
  // Several counts from one embedding divide as one call per count does.
  const auto together = streams::divide_spectrally(graph, 1, std::vector<std::int64_t>{0, 4, 3, 0});
  ASSERT_EQ(together.size(), 4u);
  for (std::size_t r = 0; r < together.size(); ++r) {
    const std::int64_t count = std::vector<std::int64_t>{0, 4, 3, 0}[r];
    EXPECT_EQ(together[r].group, streams::divide_spectrally(graph, 1, count).group) << "count " << count;
  }
  EXPECT_TRUE(streams::divide_spectrally(graph, 1, std::vector<std::int64_t>{}).empty());

  // In the table they read the number of layers from the trace's truth: on the
  // served trace they divide exactly; without the truth, one line says what is missing.
  const auto plain = served();
  EXPECT_DOUBLE_EQ(ari_of("first-arrival-k", plain), 1.0);
  EXPECT_DOUBLE_EQ(ari_of("spectral-k", plain), 1.0);
  auto blind = streams::observe(plain, 0, trace::kForward, streams::View::timed);
  EXPECT_EQ(blind.layers, 6);
  blind.layers = 0;
  try {
    streams::divide("spectral-k", blind, trace::kForward, 2);
    ADD_FAILURE() << "no error without the number of layers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/trace/truth/device_layer"), std::string::npos) << e.what();
  }
}

TEST(Eavesdroppers, DelaysSplitALayersArrivalsAndKeepEverySendAfterWhatItWaitedFor) {
  const auto plain = served();
  // Mixes in front of two of layer 2's four devices hold what they receive, for
  // times of the order of the layers' spacing (1 s): they arrive among later layers.
  const Plan plan{{{MoveKind::delay, 2, -1, 0, 3.0}, {MoveKind::delay, 3, -1, 0, 3.0}}, 0, 0};
  streams::PlanCost cost;
  const auto held = streams::obfuscate_trace(plain, plan, 7, &cost);
  EXPECT_EQ(cost.extra_bytes, 0);
  EXPECT_GT(cost.extra_seconds, 0);
  EXPECT_GT(cost.time_fraction(), 0);
  EXPECT_LT(ari_of("first-arrival", held), 1.0);
  EXPECT_DOUBLE_EQ(ari_of("depth", held), 1.0);  // holds change no stream
  // Causality: every stream starts no earlier than the real streams that reached its
  // sender before it did in the plain trace (the same events: a plan without cover
  // keeps their order in the columns), and never earlier than in the plain trace.
  const auto& p = plain.events;
  const auto& e = held.events;
  ASSERT_EQ(e.size(), p.size());
  std::vector<std::int64_t> id(plain.devices, -1);  // plain id -> obfuscated id
  for (std::size_t i = 0; i < p.size(); ++i) {
    id[p.src[i]] = e.src[i];
    id[p.dst[i]] = e.dst[i];
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_GE(e.t_start[i], p.t_start[i] - 1e-12);
    // Held: the streams into 2 and 3; nothing else starts later than what it waited for.
    if (p.phase[i] == 0 && (p.dst[i] == 2 || p.dst[i] == 3)) EXPECT_GT(e.t_start[i], p.t_start[i]);
    EXPECT_NEAR(e.t_end[i] - e.t_start[i], p.t_end[i] - p.t_start[i], 1e-12);
    for (std::size_t j = 0; j < p.size(); ++j)
      if (p.dst[j] == p.src[i] && p.t_end[j] <= p.t_start[i] && (p.phase[j] == p.phase[i]))
        EXPECT_GE(e.t_start[i], e.t_end[j] - 1e-12) << "stream " << i << " leaves before stream " << j << " arrived";
  }
  // The backward pass starts after the held forward pass ended.
  double forward_end = 0, backward_start = 1e300;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.phase[i] == 0) forward_end = std::max(forward_end, e.t_end[i]);
    else backward_start = std::min(backward_start, e.t_start[i]);
  EXPECT_GE(backward_start, forward_end - 1e-12);
}

TEST(Eavesdroppers, HoldsLongerThanTheStepAndUnknownNamesAreRefused) {
  const auto plain = served();  // its step runs from 0 to 14.5 s
  EXPECT_THROW(streams::obfuscate_trace(plain, Plan{{{MoveKind::delay, 2, -1, 0, 20.0}}, 0, 0}, 1), Error);
  EXPECT_THROW(streams::obfuscate_trace(plain, Plan{{}, 0, 20.0}, 1), Error);
  EXPECT_THROW(streams::obfuscate_trace(plain, Plan{{{MoveKind::delay, 2, -1, 0, -1.0}}, 0, 0}, 1), Error);
  EXPECT_THROW(streams::obfuscate_trace(plain, Plan{{}, -8, 0}, 1), Error);
  try {
    streams::eavesdropper("telepathy", "--obfuscate.against");
    ADD_FAILURE() << "an unknown eavesdropper was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--obfuscate.against: 'telepathy' is not one of sequential"), std::string::npos)
        << e.what();
  }
}
