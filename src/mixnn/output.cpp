#include "mixnn/output.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/ranks.hpp"
#include "trace/events.hpp"
#include "trace/packet_log.hpp"
#include "trace/writer.hpp"

namespace tessera::mixnn {

namespace {

// Rank 0's rows of every world rank, concatenated (rank 0 only; empty elsewhere),
// and how many rows each gave: `living` holds the ranks r with alive[r], in order; a
// rank that died gives none.
std::vector<double> gather_rows(const std::vector<double>& mine, int width, std::vector<int>& rows, MPI_Comm living,
                                const std::vector<int>& alive) {
  const int members = size_of(living);
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(members), offsets(members);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, living);
  int total = 0;
  for (int m = 0; m < members; ++m) {
    offsets[m] = total;
    total += counts[m];
  }
  std::vector<double> all(rank_of(living) == 0 ? total : 0);
  MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, 0, living);
  rows.assign(alive.size(), 0);
  for (int r = 0, m = 0; r < static_cast<int>(alive.size()); ++r)
    if (alive[r]) rows[r] = counts[m++] / width;
  return all;
}

template <class T>
void column(const h5::Group& group, const char* name, std::vector<T> values, MPI_Comm world) {
  share_vector(values, std::is_same_v<T, double> ? MPI_DOUBLE : MPI_INT64_T, world);
  group.create_dataset<T>(name, {values.size()}).write(values.data());
}

// The packet logs gathered on the designer as one event per packet. The designer
// both starts a pass and receives its result: in the trace it is two devices, 0
// sending and `ranks` receiving, so that a pass's streams flow one way.
trace::TraceFile build_trace(const std::vector<double>& sent, const std::vector<int>& sent_rows,
                             const std::vector<double>& received, const std::vector<int>& received_rows,
                             std::vector<std::int64_t>& ops) {
  const int ranks = static_cast<int>(sent_rows.size());
  std::vector<trace::PacketArrival> arrivals;
  for (int dst = 0, at = 0; dst < ranks; ++dst)
    for (int k = 0; k < received_rows[dst]; ++k, at += 2)
      arrivals.push_back({static_cast<std::int64_t>(received[at]), dst == 0 ? ranks : dst, received[at + 1]});
  std::vector<trace::PacketSend> sends;
  for (int src = 0, at = 0; src < ranks; ++src)
    for (int k = 0; k < sent_rows[src]; ++k, at += 5) {
      const auto dst = static_cast<std::int64_t>(sent[at]);
      const auto op = static_cast<std::int64_t>(sent[at + 3]);
      sends.push_back({src, dst == 0 ? ranks : dst, static_cast<std::int64_t>(sent[at + 1]),
                       static_cast<std::int64_t>(sent[at + 2]),
                       op == static_cast<std::int64_t>(Op::backward) ? trace::kBackward : trace::kForward,
                       sent[at + 4]});
      ops.push_back(op);
    }
  trace::TraceFile t;
  t.events = trace::events_of_packets(sends, arrivals);
  return t;
}

}  // namespace

void write_mixnn(const h5::Group& root, const MixnnRun& run, const DesignerResult& result,
                 const HopStats& mine, const Transport& transport, MPI_Comm living,
                 const std::vector<int>& alive) {
  const MPI_Comm world = living;  // every collective below is over the ranks alive
  const bool designer = rank_of(world) == 0;
  const int ranks = static_cast<int>(alive.size());
  // Hop costs of every rank (zeros for a rank that crashed for real).
  std::vector<int> rows;
  const auto stats =
      gather_rows((designer ? result.stats : mine).to_vector(), HopStats::kFields, rows, world, alive);
  std::vector<HopStats> hops;
  for (int r = 0, at = 0; designer && r < ranks; at += rows[r] * HopStats::kFields, ++r)
    hops.push_back(rows[r] ? HopStats::from(&stats[at]) : HopStats{});
  // Packet logs.
  std::vector<double> sent_mine, received_mine;
  for (const auto& s : transport.sent())
    sent_mine.insert(sent_mine.end(), {static_cast<double>(s.destination), static_cast<double>(s.bytes),
                                       static_cast<double>(s.step), static_cast<double>(s.op), s.seconds});
  for (const auto& r : transport.received()) received_mine.insert(received_mine.end(), {static_cast<double>(r.source), r.seconds});
  std::vector<int> sent_rows, received_rows;
  const auto sent = gather_rows(sent_mine, 5, sent_rows, world, alive);
  const auto received = gather_rows(received_mine, 2, received_rows, world, alive);

  std::vector<std::int64_t> ops;
  trace::TraceFile trace;
  if (designer) trace = build_trace(sent, sent_rows, received, received_rows, ops);
  auto& e = trace.events;
  for (auto* v : {&e.step, &e.phase, &e.seq, &e.src, &e.dst, &e.bytes}) share_vector(*v, MPI_INT64_T, world);
  for (auto* v : {&e.t_start, &e.t_end}) share_vector(*v, MPI_DOUBLE, world);
  share_vector(ops, MPI_INT64_T, world);
  trace.devices = ranks + 1;
  trace.entry = 0;
  trace.exit = ranks;
  // Truth for the stream analysis: each server of the first cascade is a stage of its
  // own (a dummy too: on the wire it is one), the designer is stage 0 on both of its
  // devices, a server outside the cascade a stage apart.
  if (!result.cascades.empty() || !designer) {
    std::vector<std::int64_t> first_ranks, first_parts;
    if (designer) {
      first_ranks.assign(result.cascades[0].ranks.begin(), result.cascades[0].ranks.end());
      first_parts.assign(result.cascades[0].parts.begin(), result.cascades[0].parts.end());
    }
    share_vector(first_ranks, MPI_INT64_T, world);
    share_vector(first_parts, MPI_INT64_T, world);
    std::vector<std::int64_t> stage(ranks + 1, -1);
    stage[0] = stage[ranks] = 0;
    trace.layer_names = {"designer"};
    for (std::size_t i = 0; i < first_ranks.size(); ++i) {
      stage[first_ranks[i]] = static_cast<std::int64_t>(i + 1);
      trace.layer_names.push_back(first_parts[i] < 0 ? "dummy" : run.plans[first_parts[i]].name);
    }
    for (auto& s : stage)
      if (s < 0) {
        s = static_cast<std::int64_t>(trace.layer_names.size());
        trace.layer_names.push_back("outside the cascade");
      }
    trace.device_layer = stage;
  }
  trace::write_trace(trace, root);
  root.group("trace").create_dataset<std::int64_t>("op", {ops.size()}).write(ops.data());

  auto g = root.require_group("mixnn");
  g.set_attr("arch", run.arch);
  std::string names;
  for (const auto& p : run.plans) names += (names.empty() ? "" : "\n") + p.name;
  g.set_attr("parts", names);
  g.set_attr("designer_keeps", run.designer_keeps);
  g.set_attr("pool", run.pool);
  g.set_attr("dummies", run.dummies);
  g.set_attr("loop_rate", run.loop_rate);
  // Ranks that crashed for real (their process gone): no hop costs or packet log.
  std::vector<std::int64_t> lost;
  for (int r = 0; r < ranks; ++r)
    if (!alive[r]) lost.push_back(r);
  g.set_attr("ranks_lost", lost);
  g.set_attr("message_bytes", static_cast<std::int64_t>(run.message_bytes));
  g.set_attr("packet_bytes", static_cast<std::int64_t>(run.packet_bytes));
  double scalars[4] = {result.timeout, result.median_round_trip, static_cast<double>(result.loops_sent),
                       static_cast<double>(result.loops_returned)};
  MPI_Bcast(scalars, 4, MPI_DOUBLE, 0, world);
  g.set_attr("timeout_seconds", scalars[0]);
  g.set_attr("median_round_trip_seconds", scalars[1]);
  g.set_attr("loops_sent", static_cast<std::int64_t>(scalars[2]));
  g.set_attr("loops_returned", static_cast<std::int64_t>(scalars[3]));
  g.set_attr("crash_injected_step", run.injected.crash_step);
  g.set_attr("crash_injected_rank", run.crash_rank);
  g.set_attr("byzantine_injected_step", run.injected.byzantine_step);
  g.set_attr("byzantine_injected_rank", run.byzantine_rank);
  g.set_attr("sphinx_microseconds_per_hop", 157.0);

  {  // per epoch
    auto ep = g.require_group("epochs");
    std::vector<double> cols[13];
    for (const auto& r : result.epochs) {
      const double row[13] = {static_cast<double>(r.epoch), r.mixnn_accuracy, r.mixnn_loss, r.mixnn_train_loss,
                              r.mixnn_seconds, r.check_seconds, r.plain_accuracy, r.plain_loss, r.plain_train_loss,
                              r.plain_seconds, r.plain_test_seconds, r.check_deviation, static_cast<double>(r.attempts)};
      for (int c = 0; c < 13; ++c) cols[c].push_back(row[c]);
    }
    const char* names13[13] = {"epoch", "mixnn_accuracy", "mixnn_loss", "mixnn_train_loss", "mixnn_seconds",
                               "check_seconds", "plain_accuracy", "plain_loss", "plain_train_loss", "plain_seconds",
                               "plain_test_seconds", "check_deviation", "attempts"};
    for (int c = 0; c < 13; ++c) column(ep, names13[c], cols[c], world);
  }
  {  // per rank
    auto h = g.require_group("hops");
    std::vector<double> cols[HopStats::kFields];
    for (const auto& s : hops) {
      const auto v = s.to_vector();
      for (int c = 0; c < HopStats::kFields; ++c) cols[c].push_back(v[c]);
    }
    const char* names9[HopStats::kFields] = {"opened", "rejected", "stale", "sealed", "open_seconds",
                                                     "seal_seconds", "compute_seconds", "crashed_at", "byzantine_at"};
    for (int c = 0; c < HopStats::kFields; ++c) column(h, names9[c], cols[c], world);
    // Crypto per hop: a server's open plus seal, over the packets it handled.
    std::vector<double> per_hop;
    for (std::size_t r = 1; r < hops.size(); ++r)
      if (hops[r].opened > 0) per_hop.push_back(1e6 * (hops[r].open_seconds + hops[r].seal_seconds) / hops[r].opened);
    std::sort(per_hop.begin(), per_hop.end());
    double median = per_hop.empty() ? 0 : per_hop[per_hop.size() / 2];
    MPI_Bcast(&median, 1, MPI_DOUBLE, 0, world);
    g.set_attr("crypto_microseconds_per_hop", median);
  }
  {  // failures
    auto f = g.require_group("failures");
    std::vector<std::int64_t> kind, epoch, step, generation, removed, removed_count;
    std::vector<double> detected_at, handled_at, timeout, injected_at;
    for (const auto& x : result.failures) {
      kind.push_back(static_cast<std::int64_t>(x.kind));
      epoch.push_back(x.epoch + 1);
      step.push_back(x.step);
      generation.push_back(x.generation);
      detected_at.push_back(x.detected_at);
      handled_at.push_back(x.handled_at);
      timeout.push_back(x.timeout);
      removed_count.push_back(static_cast<std::int64_t>(x.removed.size()));
      double injected = -1;
      for (int r : x.removed) {
        const double at = x.kind == FailureKind::crash ? hops[r].crashed_at : hops[r].byzantine_at;
        if (at >= 0) injected = injected < 0 ? at : std::min(injected, at);
        removed.push_back(r);
      }
      injected_at.push_back(injected);
    }
    column(f, "kind", kind, world);
    column(f, "epoch", epoch, world);
    column(f, "step", step, world);
    column(f, "generation", generation, world);
    column(f, "detected_at", detected_at, world);
    column(f, "handled_at", handled_at, world);
    column(f, "timeout", timeout, world);
    column(f, "injected_at", injected_at, world);
    column(f, "removed_count", removed_count, world);
    column(f, "removed_ranks", removed, world);
  }
  {  // truth: every cascade of the run
    auto t = g.require_group("truth");
    std::vector<std::int64_t> ranks_flat, parts_flat, width{0};
    for (const auto& c : result.cascades) {
      width[0] = static_cast<std::int64_t>(c.ranks.size());
      ranks_flat.insert(ranks_flat.end(), c.ranks.begin(), c.ranks.end());
      parts_flat.insert(parts_flat.end(), c.parts.begin(), c.parts.end());
    }
    share_vector(width, MPI_INT64_T, world);
    share_vector(ranks_flat, MPI_INT64_T, world);
    share_vector(parts_flat, MPI_INT64_T, world);
    const hsize_t n = static_cast<hsize_t>(width[0]), generations = n ? ranks_flat.size() / n : 0;
    t.create_dataset<std::int64_t>("cascade_ranks", {generations, n}).write(ranks_flat.data());
    t.create_dataset<std::int64_t>("cascade_parts", {generations, n}).write(parts_flat.data());
  }
}

void write_extraction(const h5::Group& root, const std::vector<int>& adversary, std::int64_t public_images,
                      const ExtractionSettings& settings, const std::optional<ExtractionReport>& report,
                      MPI_Comm world) {
  auto g = root.require_group("mixnn").require_group("extraction");
  g.set_attr("public_images", public_images);
  g.set_attr("public_epochs", static_cast<std::int64_t>(settings.settings.epochs));
  g.set_attr("fine_tune_lr", settings.settings.lr * settings.fine_tune_lr_factor);
  g.set_attr("fit_rows_per_unit", settings.fit_rows);
  auto one_based = [](const std::vector<int>& parts) {
    std::vector<std::int64_t> out;
    for (int p : parts) out.push_back(p + 1);
    return out;
  };
  column(g, "adversary_parts", one_based(adversary), world);
  std::vector<double> scalars;
  const char* scalar_names[] = {"victim_accuracy",     "learned_accuracy",    "learned_agreement",
                                "learned_loss",        "fine_tuned_accuracy", "fine_tuned_agreement",
                                "fine_tuned_loss",     "public_accuracy",     "public_agreement",
                                "public_loss",         "middle_error",        "middle_first_part",
                                "middle_last_part"};
  std::vector<std::int64_t> solved, learned;
  const char* layer_names[] = {"units",          "determined",   "dead",
                               "unseen_inputs",  "fit_rows",     "held_out_rows",
                               "held_out_error", "weight_error", "determined_weight_error",
                               "bias_error"};
  constexpr int kLayerColumns = 10;
  std::vector<double> layers[kLayerColumns];
  if (report) {
    const auto& r = *report;
    scalars = {r.victim_accuracy,          r.learned.accuracy,   r.learned.agreement,
               r.learned.loss,             r.fine_tuned.accuracy, r.fine_tuned.agreement,
               r.fine_tuned.loss,          r.public_only.accuracy, r.public_only.agreement,
               r.public_only.loss,         r.middle_error,        static_cast<double>(r.middle_first + 1),
               static_cast<double>(r.middle_last + 1)};
    solved = one_based(r.reconstruction.solved);
    learned = one_based(r.reconstruction.learned);
    for (const auto& l : r.reconstruction.layers) {
      const double row[kLayerColumns] = {static_cast<double>(l.units),         static_cast<double>(l.determined),
                                         static_cast<double>(l.dead),          static_cast<double>(l.unseen_inputs),
                                         static_cast<double>(l.fit_rows),      static_cast<double>(l.held_out_rows),
                                         l.held_out_error,                     l.weight_error,
                                         l.determined_weight_error,            l.bias_error};
      for (int c = 0; c < kLayerColumns; ++c) layers[c].push_back(row[c]);
    }
  }
  share_vector(scalars, MPI_DOUBLE, world);
  for (std::size_t i = 0; i < scalars.size(); ++i) g.set_attr(scalar_names[i], scalars[i]);
  column(g, "solved_parts", solved, world);
  column(g, "learned_parts", learned, world);
  auto per_layer = g.require_group("solved");
  for (int c = 0; c < kLayerColumns; ++c) column(per_layer, layer_names[c], layers[c], world);
}

}  // namespace tessera::mixnn
