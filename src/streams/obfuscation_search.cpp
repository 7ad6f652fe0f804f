#include "streams/obfuscation_search.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <numeric>
#include <tuple>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::streams {

namespace {

// Kahn's order of the forward graph (ties by id): a move from an earlier device to a
// later one keeps the order valid, so no pass gets a cycle.
std::vector<std::int64_t> topological_rank(const DeviceGraph& graph) {
  std::vector<std::vector<std::int64_t>> next(graph.vertices);
  std::vector<std::int64_t> in(graph.vertices, 0), rank(graph.vertices, -1);
  for (const auto& [u, v] : graph.arcs) {
    next[u].push_back(v);
    ++in[v];
  }
  std::deque<std::int64_t> ready;
  for (std::int64_t v = 0; v < graph.vertices; ++v)
    if (in[v] == 0) ready.push_back(v);
  std::int64_t placed = 0;
  while (!ready.empty()) {
    const auto u = ready.front();
    ready.pop_front();
    rank[u] = placed++;
    for (auto v : next[u])
      if (--in[v] == 0) ready.push_back(v);
  }
  return rank;
}

}  // namespace

PlanSearch::PlanSearch(const trace::TraceFile& plain, const SearchSettings& settings)
    : plain_(plain), settings_(settings) {
  TESSERA_REQUIRE(plain.device_layer, "'", plain.path,
                  "' has no /trace/truth/device_layer: the provider plans with the truth of its own model");
  const auto seen = observe(plain, settings.step, trace::kForward, View::flat);
  entry_ = seen.entry;
  exit_ = seen.exit;
  rank_ = topological_rank(seen.graph);
  std::vector<bool> active(plain.devices, false);
  for (const auto& [u, v] : seen.graph.arcs) active[u] = active[v] = true;
  const auto& layer = *plain.device_layer;
  const auto L = layer.empty() ? 0 : *std::max_element(layer.begin(), layer.end()) + 1;
  by_layer_.resize(L);
  for (std::int64_t d = 0; d < plain.devices; ++d)
    if (active[d] && layer[d] >= 0) by_layer_[layer[d]].push_back(d);
  for (auto& devices : by_layer_)
    std::sort(devices.begin(), devices.end(), [&](auto a, auto b) { return rank_[a] < rank_[b]; });
  by_layer_.erase(std::remove_if(by_layer_.begin(), by_layer_.end(), [](const auto& d) { return d.empty(); }),
                  by_layer_.end());
  const auto& e = plain.events;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (e.step[i] == settings.step && e.phase[i] == trace::kForward) sizes_.push_back(e.bytes[i]);
  // A device's cover goes to at most every other device: a larger bundle only makes
  // proposals (and memory) grow without end.
  TESSERA_REQUIRE(settings.bundle <= plain.devices, "--obfuscate.bundle: at most the trace's ", plain.devices,
                  " devices, got ", settings.bundle);
  bundle_ = settings.bundle > 0 ? settings.bundle : std::max<std::int64_t>(1, plain.devices / 50);
  tuned_ = settings.against;
  if (tuned_.empty())
    for (std::size_t i = 0; i < eavesdroppers().size(); ++i) tuned_.push_back(i);
  delay_scale_ = first_step_seconds(plain.events) / 10;
  TESSERA_REQUIRE(!by_layer_.empty() && !sizes_.empty(), "'", plain.path, "': no forward streams between devices of a "
                  "known layer in step ", settings.step, ": nothing to plan cover for");
}

const PlanPoint& PlanSearch::evaluate(const Plan& plan, const std::string& optimiser) {
  PlanPoint point;
  point.optimiser = optimiser;
  point.plan = plan;
  const auto obfuscated = obfuscate_trace(plain_, plan, settings_.seed, &point.cost);
  point.judgement = judge(obfuscated, settings_.step, settings_.th);
  point.loss = (point.judgement.worst(tuned_) + point.judgement.mean(tuned_)) / 2 +
               settings_.c * static_cast<double>(point.cost.new_arcs) / static_cast<double>(std::max<std::int64_t>(1, point.cost.arcs)) +
               settings_.c_time * point.cost.time_fraction();
  points_.push_back(std::move(point));
  return points_.back();
}

std::vector<std::int64_t>::const_iterator PlanSearch::after(const std::vector<std::int64_t>& layer,
                                                             std::int64_t device) const {
  return std::upper_bound(layer.begin(), layer.end(), device, [&](auto a, auto b) { return rank_[a] < rank_[b]; });
}

std::int64_t PlanSearch::message_bytes(Rng& rng) const { return sizes_[uniform_below(sizes_.size(), rng)]; }

std::vector<Move> PlanSearch::propose(Rng& rng, MoveKind kind, std::int64_t from_layer, std::int64_t to_layer) const {
  const auto pick_layer = [&](std::int64_t l) { return l >= 0 ? l : static_cast<std::int64_t>(uniform_below(by_layer_.size(), rng)); };
  const auto& sources = by_layer_[pick_layer(from_layer)];
  const auto from = sources[uniform_below(sources.size(), rng)];
  std::vector<Move> moves;
  if (kind == MoveKind::delay) {
    // Mixes in front of devices of the target layer, each of its own mean hold.
    const auto& held = by_layer_[pick_layer(to_layer)];
    for (std::int64_t k = 0; delay_scale_ > 0 && k < bundle_; ++k)
      moves.push_back({kind, held[uniform_below(held.size(), rng)], -1, 0,
                       delay_scale_ * std::pow(10.0, -3.0 * uniform_unit(rng))});
    return moves;
  }
  if (kind == MoveKind::loop) {
    for (std::int64_t k = 0; k < bundle_; ++k) {
      const auto& any = by_layer_[pick_layer(from_layer)];
      moves.push_back({kind, any[uniform_below(any.size(), rng)], -1, message_bytes(rng)});
    }
    return moves;
  }
  const auto& targets = by_layer_[pick_layer(to_layer)];
  // The targets after `from` in the dataflow (and never the exit straight from the entry:
  // then no set of devices would separate them, and Algorithm 1 would see it at once).
  const auto later = after(targets, from);
  const auto choices = static_cast<std::uint64_t>(targets.end() - later);
  for (std::int64_t k = 0; choices > 0 && k < bundle_; ++k) {
    const auto to = later[uniform_below(choices, rng)];
    if (from == entry_ && to == exit_) continue;
    moves.push_back({kind, from, to, message_bytes(rng)});
  }
  return moves;
}

std::vector<Move> PlanSearch::propose_hub(Rng& rng, std::int64_t hub_layer, std::int64_t fan_layer) const {
  const auto& hubs = by_layer_[hub_layer];
  const auto hub = hubs[uniform_below(hubs.size(), rng)];
  std::vector<Move> moves;
  if (hub == entry_ || hub == exit_) return moves;
  moves.push_back({MoveKind::cover, entry_, hub, message_bytes(rng)});
  moves.push_back({MoveKind::cover, hub, exit_, message_bytes(rng)});
  const auto& targets = by_layer_[fan_layer];
  const auto later = after(targets, hub);
  const auto choices = static_cast<std::uint64_t>(targets.end() - later);
  for (std::int64_t k = 2; choices > 0 && k < bundle_; ++k)
    moves.push_back({MoveKind::cover, hub, later[uniform_below(choices, rng)], message_bytes(rng)});
  return moves;
}

std::vector<Move> PlanSearch::propose(Rng& rng) const {
  const auto draw = uniform_below(7, rng);
  // The target layer: half the time in proportion to its devices (a large layer is what
  // must be split), half the time uniform (streams into a single-device layer bypass
  // the vertex cuts Algorithm 1 looks for); the source layer uniform up to it.
  std::int64_t to_layer = 0;
  if (uniform_below(2, rng)) {
    std::int64_t devices = 0;
    for (const auto& layer : by_layer_) devices += static_cast<std::int64_t>(layer.size());
    auto pick = static_cast<std::int64_t>(uniform_below(devices, rng));
    while (pick >= static_cast<std::int64_t>(by_layer_[to_layer].size()))
      pick -= static_cast<std::int64_t>(by_layer_[to_layer++].size());
  } else {
    to_layer = static_cast<std::int64_t>(uniform_below(by_layer_.size(), rng));
  }
  const auto from_layer = static_cast<std::int64_t>(uniform_below(to_layer + 1, rng));
  if (draw == 2) return propose_hub(rng, from_layer, to_layer);
  const MoveKind kinds[7] = {MoveKind::cover, MoveKind::cover, MoveKind::cover, MoveKind::relay,
                             MoveKind::loop,  MoveKind::lead,  MoveKind::delay};
  const auto kind = kinds[draw] == MoveKind::delay && delay_scale_ <= 0 ? MoveKind::cover : kinds[draw];
  return propose(rng, kind, from_layer, to_layer);
}

namespace {

Plan with(Plan plan, const std::vector<Move>& moves) {
  plan.moves.insert(plan.moves.end(), moves.begin(), moves.end());
  return plan;
}

}  // namespace

// From the plain trace, add the best of a few proposals while the loss falls.
void search_greedy(PlanSearch& search) {
  constexpr int kProposals = 6, kPatience = 8;
  auto rng = make_rng(search.settings().seed, "obfuscate-greedy");
  auto plan = search.settings().base;
  double loss = search.evaluate(plan, "greedy").loss;
  std::int64_t left = search.settings().evaluations - 1;
  for (int stalled = 0; left > 0 && stalled < kPatience;) {
    Plan best_plan;
    double best = loss;
    for (int k = 0; k < kProposals && left > 0; ++k, --left) {
      auto trial = with(plan, search.propose(rng));
      const auto& point = search.evaluate(trial, "greedy");
      if (point.loss < best) {
        best = point.loss;
        best_plan = std::move(trial);
      }
    }
    if (best < loss) {
      loss = best;
      plan = std::move(best_plan);
      stalled = 0;
      log::info("obfuscate: greedy: ", plan.moves.size(), " moves, loss ", loss, " (", left, " evaluations left)");
    } else {
      ++stalled;
    }
  }
}

// A steady-state genetic algorithm over plans (lists of moves): tournament selection,
// uniform crossover of the parents' moves, mutation by a new proposal or by dropping
// a quarter of the moves; a child replaces the worst plan when it is better.
void search_evolutionary(PlanSearch& search) {
  constexpr std::size_t kPopulation = 8;
  auto rng = make_rng(search.settings().seed, "obfuscate-evolutionary");
  const auto& base = search.settings().base;
  std::vector<std::pair<double, Plan>> population;
  std::int64_t left = search.settings().evaluations;
  for (std::size_t i = 0; i < kPopulation && left > 0; ++i, --left) {
    auto plan = base;
    for (auto n = 1 + uniform_below(4, rng); n > 0; --n) plan = with(plan, search.propose(rng));
    const double loss = search.evaluate(plan, "evolutionary").loss;
    population.emplace_back(loss, std::move(plan));
  }
  const auto tournament = [&]() -> const Plan& {
    const auto& a = population[uniform_below(population.size(), rng)];
    const auto& b = population[uniform_below(population.size(), rng)];
    return a.first <= b.first ? a.second : b.second;
  };
  for (; left > 0; --left) {
    const auto &mother = tournament(), &father = tournament();
    auto child = base;
    for (const auto* parent : {&mother, &father})
      for (const auto& move : parent->moves)
        if (uniform_below(2, rng)) child.moves.push_back(move);
    if (uniform_below(2, rng) || child.moves.empty()) {
      child = with(child, search.propose(rng));
    } else {
      std::vector<Move> kept;
      for (const auto& move : child.moves)
        if (uniform_below(4, rng)) kept.push_back(move);
      child.moves = std::move(kept);
    }
    const double loss = search.evaluate(child, "evolutionary").loss;
    auto worst = std::max_element(population.begin(), population.end(),
                                  [](const auto& a, const auto& b) { return a.first < b.first; });
    if (loss < worst->first) *worst = {loss, std::move(child)};
  }
  const auto best = std::min_element(population.begin(), population.end(),
                                     [](const auto& a, const auto& b) { return a.first < b.first; });
  log::info("obfuscate: evolutionary: best ", best->second.moves.size(), " moves, loss ", best->first);
}

void search_combine(PlanSearch& search) {
  constexpr std::size_t kPerEavesdropper = 4;
  // The specialists: for each tuned eavesdropper, the plans with its lowest index.
  std::vector<Plan> specialists;
  std::size_t start = 0;
  {
    const auto points = search.points();  // a copy: evaluate() appends
    if (points.empty()) return;
    for (std::size_t i = 1; i < points.size(); ++i)
      if (points[i].loss < points[start].loss) start = i;
    for (auto e : search.tuned()) {
      std::vector<std::size_t> order(points.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
        return std::tie(points[a].judgement.ari[e], points[a].loss) < std::tie(points[b].judgement.ari[e], points[b].loss);
      });
      for (std::size_t k = 0; k < std::min(kPerEavesdropper, order.size()); ++k)
        if (!points[order[k]].plan.moves.empty()) specialists.push_back(points[order[k]].plan);
    }
    specialists.insert(specialists.begin(), points[start].plan);
  }
  Plan plan = specialists.front();
  double loss = search.evaluate(plan, "combine").loss;
  std::vector<char> used(specialists.size(), 0);
  used[0] = 1;
  for (std::int64_t left = search.settings().evaluations - 1; left > 0;) {
    std::size_t best = specialists.size();
    double best_loss = loss;
    for (std::size_t i = 0; i < specialists.size() && left > 0; ++i) {
      if (used[i]) continue;
      --left;
      const double l = search.evaluate(with(plan, specialists[i].moves), "combine").loss;
      if (l < best_loss) best_loss = l, best = i;
    }
    if (best == specialists.size()) break;
    used[best] = 1;
    plan = with(plan, specialists[best].moves);
    loss = best_loss;
    log::info("obfuscate: combine: ", plan.moves.size(), " moves, loss ", loss, " (", left, " evaluations left)");
  }
}

Plan random_plan(const trace::TraceFile& plain, double byte_fraction, std::uint64_t seed, PlanCost* cost_out,
                 const Plan& base) {
  PlanCost local;
  auto* cost = cost_out ? cost_out : &local;
  SearchSettings settings;
  settings.seed = seed;
  const PlanSearch search(plain, settings);
  auto rng = make_rng(seed, "obfuscate-random-plan");
  Plan plan = base;
  obfuscate_trace(plain, plan, seed, cost);
  for (int proposals = 0; cost->byte_fraction() < byte_fraction; ++proposals) {
    TESSERA_REQUIRE(proposals < 100000, "obfuscation: no plan of random cover reaches ", byte_fraction,
                    " extra bytes");
    // Cover only: holds are the base plan's (a delay move adds no bytes, so the loop
    // would pile them up without end).
    for (const auto& move : search.propose(rng))
      if (move.kind != MoveKind::delay) plan.moves.push_back(move);
    obfuscate_trace(plain, plan, seed, cost);
  }
  return plan;
}

const std::vector<std::string>& optimiser_names() {
  static const std::vector<std::string> names{"greedy", "evolutionary", "generator", "combine"};
  return names;
}

std::optional<std::size_t> best_within(const std::vector<PlanPoint>& points, const std::vector<std::size_t>& tuned,
                                       double byte_budget, double time_budget) {
  const auto better = [&](std::size_t a, std::size_t b) {
    const auto wa = points[a].judgement.worst(tuned), wb = points[b].judgement.worst(tuned);
    return wa < wb || (wa == wb && points[a].cost.byte_fraction() < points[b].cost.byte_fraction());
  };
  std::optional<std::size_t> within;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (points[i].cost.byte_fraction() <= byte_budget && points[i].cost.time_fraction() <= time_budget &&
        (!within || better(i, *within)))
      within = i;
  return within;
}

std::vector<std::size_t> pareto_front(const std::vector<PlanPoint>& points, const std::vector<std::size_t>& of) {
  const auto key = [&](std::size_t i) {
    return std::array<double, 4>{points[i].judgement.worst(of), points[i].cost.byte_fraction(),
                                 points[i].cost.message_fraction(), points[i].cost.time_fraction()};
  };
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto a = key(i);
    bool beaten = false;
    for (std::size_t j = 0; j < points.size() && !beaten; ++j) {
      const auto b = key(j);
      bool no_worse = true;
      for (std::size_t k = 0; k < a.size(); ++k) no_worse = no_worse && b[k] <= a[k];
      beaten = no_worse && (b != a || j < i);  // of equal points the first stands
    }
    if (!beaten) front.push_back(i);
  }
  std::stable_sort(front.begin(), front.end(), [&](auto a, auto b) { return key(a)[1] < key(b)[1]; });
  return front;
}

std::vector<std::size_t> eavesdroppers_named(const std::string& names, const std::string& option) {
  std::vector<std::size_t> out;
  const auto items = split_list(names, option);
  TESSERA_REQUIRE(!items.empty(), option, ": name at least one of ", eavesdropper_names());
  for (const auto& name : items) {
    const auto index = eavesdropper_index(name, option);
    TESSERA_REQUIRE(std::find(out.begin(), out.end(), index) == out.end(), option, ": '", name, "' is named twice");
    out.push_back(index);
  }
  return out;
}

}  // namespace tessera::streams
