// The adversary's searches for block positions, one part per attack rank: an island
// of the island GA, or a simulated-annealing chain. Every generation's randomness is
// drawn from (seed, part, generation), so a search continued from a checkpoint draws
// exactly what an uninterrupted one would.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "scoring/fitness.hpp"
#include "search/method_settings.hpp"
#include "search/operators.hpp"

namespace tessera::search {

// Every search scores its candidates on the adversary's scoring engine (src/scoring/fitness.hpp).
using scoring::Fitness;
using scoring::Scores;
using scoring::Knowledge;

// One attack rank's part of a search: its members (an island's population, or one chain).
class Search {
 public:
  virtual ~Search() = default;
  // Generation 0: random members, evaluated.
  virtual void start() = 0;
  // Generation `generation` >= 1 of `generations`. Collective over the attack
  // communicator (the GA migrates).
  virtual void advance(std::int64_t generation, std::int64_t generations) = 0;
  const std::vector<search::Genome>& members() const { return members_; }
  const Scores& evaluation() const { return evaluation_; }
  // Candidates given a score so far: evaluated, or known already (a GA child that
  // places the held blocks as a member of the last generation does gets its score).
  std::int64_t scored() const { return scored_; }
  // True when further generations cannot change the members (the campaign stops,
  // reason "search finished").
  virtual bool finished() const { return false; }
  // True when the search has come to rest on its best placement (finished, or a
  // descent's first step that did not help): a chain's next method may take over.
  virtual bool settled() const { return finished(); }
  // Continues from a checkpoint's members and their recorded scores.
  virtual void restore(std::vector<search::Genome> members, Scores evaluation) = 0;
  // What else the search learned (a method that learns: its parameters, its
  // optimiser's moments, its step count), saved into the checkpoint beside the
  // members and given back to load_state after restore, so that it continues bit
  // for bit. Values must survive the trip through float64 exactly (float32 and
  // integers below 2^53 do). Most searches keep nothing beyond their members.
  virtual std::vector<double> save_state() const { return {}; }
  virtual void load_state(const std::vector<double>& state);
  // The template of the cut layer's weight (out x in) its placement was read from,
  // for a method whose answer is a correlation with one (the surrogate's mean
  // update); undefined for the others. Only assessed after the search, against the
  // truth (attack/assessment.hpp).
  virtual torch::Tensor reference() const { return {}; }

 protected:
  // Member `member` becomes `genome`, scored by the first entry of `scores`.
  void set_member(std::size_t member, const search::Genome& genome, const Scores& scores) {
    members_[member] = genome;
    evaluation_.fitness[member] = scores.fitness[0];
    evaluation_.accuracy[member] = scores.accuracy[0];
  }

  std::vector<search::Genome> members_;
  Scores evaluation_;
  std::int64_t scored_ = 0;
};

// The best member over every part and its fitness, on every part (ties: the lowest
// part). Collective over `attack`.
std::pair<search::Genome, double> best_over_parts(const Search& search, MPI_Comm attack);

// Errors naming the option on bad settings (make_* check them too).
void check(const GaSettings& settings);
void check(const SaSettings& settings);

// A non-empty `start` seeds the search with that placement instead of random ones
// (a chain's later stage).
std::unique_ptr<Search> make_ga(Fitness& fitness, const GaSettings& settings, std::uint64_t seed,
                                MPI_Comm attack, search::Genome start = {});
// Each row of `rows` centred and scaled to unit norm (a constant row becomes zeros),
// float64: the product of two such matrices is the Pearson correlation of their rows.
torch::Tensor standardised_rows(torch::Tensor rows);
// Pearson correlation of two tensors of one size.
double correlation(const torch::Tensor& a, const torch::Tensor& b);
// What a trained weight learned: `weight` net of the share of its initial weight it
// kept, weight - a initial with a = <weight, initial> / <initial, initial> (the
// least-squares fit; training and weight decay shrink a below 1).
torch::Tensor learned_part(const torch::Tensor& weight, const torch::Tensor& initial);

// The blocks of `weight` (out, in) as rows (N, bh * bw), position p = r * cols + c
// (blocks of one shape).
torch::Tensor block_rows(const torch::Tensor& weight, const blocks::Grid& grid);
// (H, N) float64: the Pearson correlation of each held block (H, bh, bw) with the
// block of `reference` (out, in) at each position.
torch::Tensor correlation_scores(const torch::Tensor& held, const torch::Tensor& reference, const blocks::Grid& grid);
// Each held block where it correlates best with `reference`'s blocks, by one linear
// assignment (least_cost_placement of minus the scores). On large grids (more than
// 2^25 pairs) only each block's 64 best positions are candidates (a sparse
// assignment), so memory follows H x 64, not H x N; a block they cannot place (or
// whose search settles 4096 positions first) takes the free position it correlates
// with best.
search::Genome most_correlated_placement(const torch::Tensor& held, const torch::Tensor& reference,
                                        const blocks::Grid& grid);

// The placement of least total cost: held block k at the position the linear
// assignment of `costs` (H x N, float64) gives it, the free positions after the held
// ones in increasing order.
search::Genome least_cost_placement(const torch::Tensor& costs);

// A search that holds one placement and is finished at once (a method whose answer
// needs no search: initialisation or statistics matching).
std::unique_ptr<Search> make_fixed_placement(Fitness& fitness, search::Genome placement);

// Linearised assignment (docs/DESIGN.md section 8.1).
std::unique_ptr<Search> make_linearised_assignment(Fitness& fitness, double kick, std::uint64_t seed,
                                                   MPI_Comm attack, search::Genome start = {});
std::unique_ptr<Search> make_annealing(Fitness& fitness, const SaSettings& settings, std::uint64_t seed,
                                       MPI_Comm attack, search::Genome start = {});

}  // namespace tessera::search
