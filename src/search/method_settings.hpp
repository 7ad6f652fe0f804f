// Every search method's settings, typed: read once from the options (each method's
// own section, e.g. ga.*), checked by the method, and handed to it when it is made.
// Beside them, what the attack tells every method: the adversary's knowledge of the
// layer and the seconds its search may take.
#pragma once

#include <cstdint>
#include <string>

#include "train/trainer.hpp"

namespace tessera::search {

struct GaSettings {
  std::int64_t population = 100;  // per island
  double crossover = 0.8, mutation = 0.2;
  int tournament = 3;
  std::int64_t elitism = 1;
  std::string crossover_kind = "ox";     // ox or pmx
  std::string mutation_kind = "swap";    // swap, insert or scramble
  std::int64_t migration_every = 10;     // generations between ring migrations (0: never)
  std::int64_t migrants = 1;             // best individuals sent to the next island
};

struct SaSettings {
  std::int64_t moves = 100;   // swap moves per generation
  double t_start = 1e-3, t_end = 1e-5;  // temperature, geometric over the generations; 0: hill climbing
};

struct AssignmentSettings {
  double kick = 0.05;  // fraction of the held blocks moved by the random swaps of a restart
};

struct InitSettings {
  std::string seeds = "0,1,42,1234";  // the seeds guessed, comma-separated (parsed by the check)
  double confirm = 0.2;               // the known layers' mean correlation that confirms a guess
};

struct SinkhornSettings {
  std::int64_t steps = 200;        // optimisation steps; then the search has settled
  double tau_start = 1.0, tau_end = 0.05;  // temperature, geometric over the steps
  double noise = 0.5;              // scale of the Gumbel noise, relative to the logits at tau_start
  double lr = 0.1;                 // Adam's step size on the logits
  std::int64_t iterations = 20;    // Sinkhorn normalisations per step
  std::string init = "costs";      // theta's start: the linearised costs, or uniform (zeros)
};

struct RlSettings {
  std::int64_t rollouts = 4;  // sampled episodes per attack rank and generation
  std::int64_t horizon = 10;  // swaps per episode
  std::int64_t hidden = 16;   // hidden units of each scorer
  double lr = 0.01;           // Adam's step size
};

struct SurrogateSettings {
  train::Settings recipe;  // train.*: epochs, batch, lr, momentum, weight decay, lr steps
  std::int64_t count = 3;  // surrogates averaged
  std::int64_t init_seed = -1;  // -1: each surrogate its own, from the run's seed
};

struct MethodSettings {
  GaSettings ga;
  SaSettings sa;
  AssignmentSettings assignment;
  InitSettings init;
  SinkhornSettings sinkhorn;
  RlSettings rl;
  SurrogateSettings surrogate;
  // Not options of the methods: what the attack tells them.
  std::string knowledge = "layer";  // --attack.knowledge (the surrogate needs the rest known)
  double time_budget_s = 0;         // this search's seconds (0: no limit), earlier chain stages included
};

}  // namespace tessera::search
