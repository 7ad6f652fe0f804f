// The seed's granularity threshold (paper section V, docs/DESIGN.md section 3), as written:
//   T_tr ~ 2 T Size(Tr) Ep                     (training time)
//   T_ak ~ gen Pop Size(Ev) T                  (attack time; Pr = 1/Size(Ev))
//   P(clue) = (1/N) (1 - 1/sqrt(N))^(N-1)      (N = number of blocks)
//   E = Pop P(clue)                            (expected clues in the first population)
// The attack is feasible only if gen Pop Size(Ev) <= 2 Size(Tr) Ep and E >= 1.
// `solve` finds the smallest N that makes it infeasible. Pure arithmetic (std
// only), so it sits in tessera_base and is tested without MPI or LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::attack {

// The formula's inputs. The defaults are the seed's own example (see SeedExample).
struct ThresholdInputs {
  std::int64_t train_size = 50000;   // Size(Tr): CIFAR-100's training set
  std::int64_t epochs = 100;         // Ep: "pre-train the VGG-16 100 epoches"
  std::int64_t population = 100;     // Pop: "population ... from 10 to 100"
  std::int64_t generations = 10000;  // gen: "iterated 10000 generations"
  std::int64_t eval_size = 100;      // Size(Ev): "the evaluation set with 100 pics"
  std::int64_t max_n = 1000000000;   // largest N searched
};

// Bounds that keep every computation exact: with each count <= 1e12 the product
// gen Pop Size(Ev) (<= 1e36) fits an unsigned 128-bit integer, and N <= 1e15 is
// exact in a long double (64-bit mantissa, or more).
constexpr std::int64_t kMaxCount = 1000000000000;  // 1e12
constexpr std::int64_t kMaxN = 1000000000000000;   // 1e15

// "" when the inputs are usable, else one line naming the option at fault
// ("--threshold.population: must be in [1, 1e12], got -3").
std::string invalid_input(const ThresholdInputs& in);

// ln P(clue) for N >= 1 (0 at N = 1, where P = 1). Log space because P underflows
// even a long double once sqrt(N) passes ~11000.
long double log_p_clue(std::int64_t n);
// P(clue) itself (0 where it underflows a double).
double p_clue(std::int64_t n);
// ln E = ln Pop + ln P(clue).
long double log_expected_clues(std::int64_t n, std::int64_t population);
// The clue condition Pop P(clue) >= 1, exact also at the ties (see threshold.cpp).
bool clue_condition(std::int64_t n, std::int64_t population);

// The time condition, in units of T (which cancels).
struct TimeCondition {
  long double attack = 0;  // T_ak / T = gen Pop Size(Ev)
  long double train = 0;   // T_tr / T = 2 Size(Tr) Ep
  bool holds = false;      // attack <= train, compared exactly in integers
};
TimeCondition time_condition(const ThresholdInputs& in);

struct ThresholdResult {
  TimeCondition time;
  long double precision = 0;  // Pr = 1/Size(Ev)
  // Smallest N in [1, max_n] where the clue condition fails (E < 1); 0 = none.
  std::int64_t clue_limit = 0;
  // Smallest N in [1, max_n] where the attack is infeasible: 1 when the time
  // condition already fails (then every N is infeasible), else clue_limit; 0 = none.
  std::int64_t smallest_infeasible = 0;
};
// Requires invalid_input(in) == "".
ThresholdResult solve(const ThresholdInputs& in);

// The seed's numeric example (paper section V, talk slide "Some insight into this
// result (1)"): VGG16's 25088 x 4096 fc1 in 256 x 256 blocks on CIFAR-100.
struct SeedExample {
  // As printed by the seed.
  std::int64_t rows = 16, cols = 98;   // 4096/256 x 25088/256 blocks
  std::int64_t exponent_plus_one = 156;  // "(15/16)^(156-1)"; 156 = 1568 blocks at drop 90%
  double paper_expected = 0.000452;      // "E(1 clue in all population) = 0.000452"
  double talk_ratio = 27;                // "5000 GPUminutes ... 27x of the training"
  double talk_attack_minutes = 5000;     // GA at population 100 on an RTX-4060
  double talk_train_minutes = 150;       // "2.5 GPUhours" (the paper says 2 hours)
  double paper_train_minutes = 120;
  ThresholdInputs inputs;                // the defaults above

  // Recomputed here.
  std::int64_t blocks = 0;             // N = rows x cols = 1568
  double paper_p_clue = 0;             // (1/(16 x 98)) (15/16)^155, the seed's own expression
  double paper_expected_pop = 0;       // Pop x that, with Pop = 100
  double paper_expected_pop10 = 0;     // ... with Pop = 10, the smallest population tested
  double ten_times_base = 0;           // 10 x (15/16)^155: the one simple reading that gives 0.000452
  long double formula_log_p_clue = 0;  // ln P(clue) of the formula at N = 1568
  long double formula_log_expected = 0;  // ln(Pop P(clue)) at N = 1568, Pop = 100
  double formula_ratio = 0;            // T_ak / T_tr = gen Pop Size(Ev) / (2 Size(Tr) Ep)
  ThresholdResult solved;              // solve(inputs)
};
SeedExample seed_example();

// The measured threshold (tessera threshold --from): attack runs at several
// granularities, each judged by the position recovery of its best member in its last
// generation. A granularity (block count N) is broken when some run at it recovers at
// least the criterion; the measured threshold is the smallest N that no run broke.
struct AttackRun {
  std::string name;  // "FILE:/attack/RUN"
  std::int64_t blocks = 0, bh = 0, bw = 0, held = 0;
  std::int64_t population = 0;   // every member of every island or chain
  std::int64_t generations = 0;   // generations run
  std::int64_t eval_images = 0;
  std::int64_t evaluations = 0;   // candidates scored (0 when the file does not say)
  std::string method;
  double recovery = 0, best_accuracy = 0;  // of the best member, last generation
  double seconds = 0, drop_rate = 0;       // the search's wall time (the invocation that ended it)
};

struct Granularity {
  std::int64_t blocks = 0;
  std::vector<std::size_t> runs;  // indices into the runs given
  double best_recovery = 0;
  bool broken = false;
};

struct MeasuredThreshold {
  std::vector<Granularity> granularities;  // by block count, ascending
  std::int64_t smallest_unbroken = 0;      // the measured threshold; 0: every granularity was broken
  std::int64_t largest_broken_below = 0;   // the largest broken N below it; 0: none
  std::vector<std::int64_t> broken_above;  // broken N above the threshold (the runs are not monotone)
};
// Requires runs and 0 < recovery <= 1.
MeasuredThreshold measure_threshold(const std::vector<AttackRun>& runs, double recovery);

// "2.499e-21" from a natural logarithm, for numbers below a long double's range.
std::string format_from_log(long double natural_log, int digits = 4);

}  // namespace tessera::attack
