// Linearised assignment (docs/DESIGN.md section 8): the adversary's loss changes, to
// first order, by <G_p, B_k> when held block k goes to position p (G: the loss's
// gradient with respect to the target weight at the current placement). One
// backward pass gives the whole (held x positions) cost matrix; the linear
// assignment of least cost is the next placement, and the step repeats from there
// (the coordinate descent of weight matching in Git Re-Basin, Ainsworth et al.,
// ICLR 2023). A step that does not lower the loss ends the descent: the search
// restarts from the best placement with a few random swaps (a kick), so a long run
// keeps exploring around its best. Each attack rank runs its own descent; part 0
// starts from the gradient of the empty placement, the others from random ones.
//
// Members: {the best placement so far, the current one}, so the history's best
// never falls, and a checkpoint of the two continues bit for bit.
#include <algorithm>
#include <cmath>

#include "search/methods.hpp"
#include "core/error.hpp"
#include "core/ranks.hpp"
#include "core/rng.hpp"
#include "search/assignment.hpp"

namespace tessera::search {

namespace {

class LinearisedAssignment final : public Search {
 public:
  LinearisedAssignment(Fitness& fitness, const AssignmentSettings& settings, std::uint64_t seed, MPI_Comm attack,
                       search::Genome start)
      : fitness_(fitness), settings_(settings), seed_(seed), part_(rank_of(attack)), start_(std::move(start)) {}

  // The first step: from the given placement (which stays the best should the step
  // not improve on it), or from the empty placement on part 0 and random ones elsewhere.
  void start() override {
    auto rng = generation_rng(0);
    if (!start_.empty()) {
      const auto first = step_from(start_);
      const auto scores = fitness_.evaluate({start_, first});
      scored_ += 2;
      members_ = {start_, first};
      evaluation_ = scores;
      if (scores.fitness[1] > scores.fitness[0]) set_member(kBest, first, {{scores.fitness[1]}, {scores.accuracy[1]}});
      else settled_ = true;
      return;
    }
    const auto from = part_ == 0 ? search::Genome() : search::random_genome(positions(), rng);
    const auto first = step_from(from);
    const auto scores = fitness_.evaluate({first});
    scored_ += 1;
    members_ = {first, first};
    evaluation_ = {{scores.fitness[0], scores.fitness[0]}, {scores.accuracy[0], scores.accuracy[0]}};
  }

  bool settled() const override { return settled_; }

  void restore(std::vector<search::Genome> members, Scores evaluation) override {
    TESSERA_ASSERT(members.size() == 2);
    members_ = std::move(members);
    evaluation_ = std::move(evaluation);
  }

  void advance(std::int64_t generation, std::int64_t) override {
    auto rng = generation_rng(generation);
    auto next = step_from(members_[kCurrent]);
    auto scores = fitness_.evaluate({next});
    scored_ += 1;
    if (!(scores.fitness[0] > evaluation_.fitness[kCurrent])) {
      // The step did not help: the descent has come to rest (a chain's next method
      // may take over), and a kick from the best, scored, is where the next step starts.
      settled_ = true;
      next = members_[kBest];
      const auto swaps = std::max<std::int64_t>(1, std::llround(settings_.kick * static_cast<double>(fitness_.held())));
      for (std::int64_t s = 0; s < swaps; ++s) search::swap_mutation(next, static_cast<std::int32_t>(fitness_.held()), rng);
      scores = fitness_.evaluate({next});
      scored_ += 1;
    }
    set_member(kCurrent, next, scores);
    if (scores.fitness[0] > evaluation_.fitness[kBest]) set_member(kBest, next, scores);
  }

 private:
  static constexpr std::size_t kBest = 0, kCurrent = 1;

  std::int32_t positions() const { return static_cast<std::int32_t>(fitness_.positions()); }

  // The placement of least linearised loss around `from` (empty: no block placed).
  search::Genome step_from(const search::Genome& from) const {
    return least_cost_placement(fitness_.placement_costs(fitness_.loss_gradient(from)));
  }

  std::mt19937_64 generation_rng(std::int64_t generation) const {
    return make_rng(seed_, "assignment-part-" + std::to_string(part_), static_cast<std::uint64_t>(generation));
  }

  Fitness& fitness_;
  AssignmentSettings settings_;
  std::uint64_t seed_;
  int part_;
  search::Genome start_;
  bool settled_ = false;
};

void read_assignment(const Config& c, MethodSettings& settings) {
  settings.assignment = {c.get<double>("assignment.kick")};
}

void check_assignment(const MethodSettings& settings) {
  const auto& s = settings.assignment;
  TESSERA_REQUIRE(s.kick >= 0 && s.kick <= 1, "--assignment.kick: a fraction of the held blocks in [0, 1], got ",
                  s.kick);
}

void add_assignment_options(po::options_description& options) {
  options.add_options()
    ("assignment.kick", real_value(0.05),
     "when a step does not lower the loss, restart from the best placement with this fraction of the held "
     "blocks moved by random swaps (at least one)");
}

// Above this many (held block, position) pairs the scores are not held at once
// (2^25 float64: 256 MiB); each block keeps its kCandidates best positions instead.
constexpr std::int64_t kDenseScores = std::int64_t{1} << 25;
constexpr std::int64_t kCandidates = 64;
// A block whose search for a free candidate settles this many positions is placed
// afterwards by its best free position (grids whose positions look alike, such as
// vgg-mini-seedpool's, where every column of a channel sees the same input, would
// otherwise make each search walk most of the placed blocks).
constexpr std::int64_t kMaxSettled = 4096;

}  // namespace

torch::Tensor standardised_rows(torch::Tensor rows) {
  rows = rows.to(torch::kDouble);
  rows = rows - rows.mean(1, true);
  return rows / rows.norm(2, 1, true).clamp_min(1e-30);
}

double correlation(const torch::Tensor& a, const torch::Tensor& b) {
  return (standardised_rows(a.reshape({1, -1})) * standardised_rows(b.reshape({1, -1}))).sum().item<double>();
}

torch::Tensor learned_part(const torch::Tensor& weight, const torch::Tensor& initial) {
  return weight - (weight * initial).sum() / (initial * initial).sum() * initial;
}

search::Genome least_cost_placement(const torch::Tensor& costs) {
  const auto H = costs.size(0), N = costs.size(1);
  const auto c = costs.to(torch::kDouble).contiguous();
  std::vector<double> matrix(c.data_ptr<double>(), c.data_ptr<double>() + H * N);
  auto genome = search::solve_assignment(matrix, H, N);
  std::vector<char> taken(N, 0);
  for (auto p : genome) taken[p] = 1;
  for (std::int32_t p = 0; p < N; ++p)
    if (!taken[p]) genome.push_back(p);
  return genome;
}

std::unique_ptr<Search> make_linearised_assignment(Fitness& fitness, double kick, std::uint64_t seed,
                                                   MPI_Comm attack, search::Genome start) {
  return std::make_unique<LinearisedAssignment>(fitness, AssignmentSettings{kick}, seed, attack, std::move(start));
}

const SearchMethod assignment_method{
    "assignment",
    "linearised assignment: the loss's gradient scores every (block, position), a linear assignment places them",
    add_assignment_options,
    read_assignment,
    check_assignment,
    [](const MethodSettings&) { return 3.0; },  // the best, the current and the next placement
    "",
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack) -> std::unique_ptr<Search> {
      return make_linearised_assignment(fitness, s.assignment.kick, seed, attack);
    },
    [](Fitness& fitness, const MethodSettings& s, std::uint64_t seed, MPI_Comm attack,
       const search::Genome& start) -> std::unique_ptr<Search> {
      return make_linearised_assignment(fitness, s.assignment.kick, seed, attack, start);
    },
    true,
    [](const h5::Group& group, const MethodSettings& s) { group.set_attr("kick", s.assignment.kick); },
    false};

torch::Tensor block_rows(const torch::Tensor& weight, const blocks::Grid& g) {
  return weight.reshape({g.rows, g.bh, g.cols, g.bw}).permute({0, 2, 1, 3}).reshape({g.count(), g.bh * g.bw});
}

torch::Tensor correlation_scores(const torch::Tensor& held, const torch::Tensor& reference, const blocks::Grid& g) {
  torch::NoGradGuard no_grad;
  const auto H = held.size(0);
  return torch::mm(standardised_rows(held.reshape({H, g.bh * g.bw})), standardised_rows(block_rows(reference, g)).t());
}

search::Genome most_correlated_placement(const torch::Tensor& held, const torch::Tensor& reference,
                                        const blocks::Grid& g) {
  torch::NoGradGuard no_grad;
  const auto H = held.size(0), N = g.count();
  if (H * N <= kDenseScores) return least_cost_placement(-correlation_scores(held, reference, g));
  // Too many pairs to hold: each held block's kCandidates best positions, scored in
  // chunks of blocks, and the assignment over those.
  const auto blocks = standardised_rows(block_rows(reference, g)).t().contiguous();  // (bh * bw, N)
  const auto rows = standardised_rows(held.reshape({H, g.bh * g.bw}));
  const auto k = std::min<std::int64_t>(kCandidates, N);
  const std::int64_t chunk = std::max<std::int64_t>(1, kDenseScores / N);
  std::vector<std::int64_t> offsets(H + 1);
  std::vector<std::int32_t> columns(H * k);
  std::vector<double> costs(H * k);
  for (std::int64_t first = 0; first < H; first += chunk) {
    const auto count = std::min(chunk, H - first);
    const auto [best, at] = torch::mm(rows.narrow(0, first, count), blocks).topk(k, 1);
    const auto score = best.contiguous(), position = at.to(torch::kInt32).contiguous();
    for (std::int64_t i = 0; i < count * k; ++i) {
      columns[first * k + i] = position.data_ptr<std::int32_t>()[i];
      costs[first * k + i] = -score.data_ptr<double>()[i];  // least cost = most correlated
    }
  }
  for (std::int64_t r = 0; r <= H; ++r) offsets[r] = r * k;
  auto genome = solve_sparse_assignment(offsets, columns, costs, N, kMaxSettled);
  // A block its candidates could not place: the free position it correlates with best.
  std::vector<char> taken(N, 0);
  for (auto p : genome)
    if (p >= 0) taken[p] = 1;
  auto taken_mask = torch::from_blob(taken.data(), {N}, torch::kChar).to(torch::kBool);
  for (std::int64_t r = 0; r < H; ++r) {
    if (genome[r] >= 0) continue;
    auto score = torch::mm(rows.narrow(0, r, 1), blocks).reshape({N});
    score.masked_fill_(taken_mask, -INFINITY);
    genome[r] = static_cast<std::int32_t>(score.argmax().item<std::int64_t>());
    taken[genome[r]] = 1;
    taken_mask[genome[r]] = true;
  }
  for (std::int32_t p = 0; p < N; ++p)
    if (!taken[p]) genome.push_back(p);
  return genome;
}

}  // namespace tessera::search
