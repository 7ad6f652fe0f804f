// Finding a good obfuscation plan (the paper's S3 loss, docs/DESIGN.md section 9.3):
//   loss(plan) = (worst + mean of the tuned eavesdroppers' adjusted Rand indices) / 2
//                + c * |E' xor E| / |E| + c_time * (how much later the trace ends) / (its length).
// The search is tuned against a named subset of the eavesdroppers; every plan is
// scored by all of them, so a plan's worth against those it never saw is on record.
// The paper's credit(i, j) sum over device pairs with credit a = 1 for a pair the
// eavesdropper judges right (same layer and same group, or neither) and b = 0 otherwise
// is the Rand index; tessera takes its chance-adjusted form, so that putting every
// device in one group (or each in its own) does not count as a success. The provider
// must hide from all eavesdroppers, so the worst counts; the mean gives the search a
// slope while one of them does not move yet. Every plan evaluated is
// kept with its cost, so the search leaves the whole trade-off behind it.
#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <vector>

#include "core/rng.hpp"
#include "streams/eavesdroppers.hpp"
#include "streams/obfuscation.hpp"

namespace tessera::streams {

struct SearchSettings {
  std::int64_t step = 0, th = 2;
  double c = 0.5;                 // the weight of the new arcs in the loss
  double c_time = 1.0;            // the weight of the extra time in the loss
  std::vector<std::size_t> against;  // tuned eavesdroppers (indices of eavesdroppers()); empty: all
  std::int64_t bundle = 0;        // moves per proposal; 0: 2% of the devices (at least 1)
  std::int64_t evaluations = 100; // plans each optimiser evaluates
  std::uint64_t seed = 1;
  Plan base;                      // padding and jitter, in every plan
};

struct PlanPoint {
  std::string optimiser;
  Judgement judgement;
  PlanCost cost;
  double loss = 0;
  Plan plan;
};

class PlanSearch {
 public:
  PlanSearch(const trace::TraceFile& plain, const SearchSettings& settings);

  const SearchSettings& settings() const { return settings_; }
  std::int64_t layers() const { return static_cast<std::int64_t>(by_layer_.size()); }
  // The eavesdroppers the loss counts.
  const std::vector<std::size_t>& tuned() const { return tuned_; }

  // Scores `plan` and keeps the point.
  const PlanPoint& evaluate(const Plan& plan, const std::string& optimiser);
  const std::vector<PlanPoint>& points() const { return points_; }

  // `count` moves of `kind` from one device of `from_layer` to devices of `to_layer`
  // that come after it in the forward dataflow (layers: 0 .. layers() - 1, the true
  // layers that have devices in the step, in the order of the flow; -1: any).
  // Fewer (maybe none) when the layer has no later device.
  std::vector<Move> propose(Rng& rng, MoveKind kind, std::int64_t from_layer, std::int64_t to_layer) const;
  // A hub: a device of `hub_layer` gets cover from the entry and sends cover to the exit
  // (so that it lies in a minimum vertex cut: Algorithm 1 takes it for a pivot) and to
  // devices of `fan_layer` after it (which then join its group).
  std::vector<Move> propose_hub(Rng& rng, std::int64_t hub_layer, std::int64_t fan_layer) const;
  // A proposal with kind and layers drawn too: cover 2/7, hub, relay, loop, lead and
  // delay 1/7 each (delay only on a timed trace, else cover);
  // the target layer in proportion to its devices half the time, else uniform; the
  // source layer uniform up to it.
  std::vector<Move> propose(Rng& rng) const;

 private:
  std::int64_t message_bytes(Rng& rng) const;
  // The first device of `layer` (sorted by rank) that comes after `device` in the flow.
  std::vector<std::int64_t>::const_iterator after(const std::vector<std::int64_t>& layer, std::int64_t device) const;

  const trace::TraceFile& plain_;
  SearchSettings settings_;
  std::vector<std::size_t> tuned_;
  // A delay move's mean hold is drawn log-uniform from a thousandth of this to this: a
  // tenth of the plain trace's first step.
  double delay_scale_ = 0;
  std::vector<std::int64_t> rank_;                  // per device: place in a topological order of the forward dataflow
  std::vector<std::vector<std::int64_t>> by_layer_; // devices of each true layer, by rank
  std::vector<std::int64_t> sizes_;                 // the plain step's message sizes (cover is sized like them)
  std::int64_t entry_ = 0, exit_ = 0, bundle_ = 1;
  std::vector<PlanPoint> points_;
};

void search_greedy(PlanSearch& search);
void search_evolutionary(PlanSearch& search);
// The paper's generator M: a small LibTorch policy that proposes the plan's moves one
// bundle at a time, trained by REINFORCE on -loss (Div is not differentiable).
void search_policy_gradient(PlanSearch& search);
// Unions of the plans scored so far that do best against different eavesdroppers
// (the few with the lowest index of each tuned one): from the plan of least loss,
// add the specialist whose union lowers the loss most, while one does. Plans that
// each beat a different eavesdropper (dummies against a count, delays against
// times) are rarely found together by proposals one bundle at a time. Run it after
// the others; with no plan scored yet it has nothing to combine.
void search_combine(PlanSearch& search);

// Random proposals added to `base` (its padding and jitter kept) until the plan adds
// at least `byte_fraction` of the trace's bytes (what `tessera bench service` sends to
// measure the overhead of cover traffic).
Plan random_plan(const trace::TraceFile& plain, double byte_fraction, std::uint64_t seed, PlanCost* cost,
                 const Plan& base = {});

// Indices of the points no other point beats on all of the worst index of the
// eavesdroppers `of`, extra bytes, extra messages and extra time (and beats on one),
// by extra bytes.
std::vector<std::size_t> pareto_front(const std::vector<PlanPoint>& points, const std::vector<std::size_t>& of);

// The optimisers by name, in the order of their codes in /obfuscation/points:
// greedy, evolutionary, generator (search_policy_gradient), combine.
const std::vector<std::string>& optimiser_names();

// The point chosen within the budgets (extra bytes and extra time, as fractions of
// the plain trace's): the lowest worst index of the eavesdroppers `tuned`, of equal
// ones the fewest extra bytes; none when no point is within both.
std::optional<std::size_t> best_within(const std::vector<PlanPoint>& points, const std::vector<std::size_t>& tuned,
                                       double byte_budget, double time_budget);

// Indices of the eavesdroppers named in a comma-separated list (errors name `option`).
std::vector<std::size_t> eavesdroppers_named(const std::string& names, const std::string& option);

}  // namespace tessera::streams
