#include "attack/threshold.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>

namespace tessera::attack {

namespace {

std::string out_of_range(const char* option, std::int64_t value, std::int64_t low, const char* high_text) {
  std::ostringstream out;
  out << "--threshold." << option << ": must be in [" << low << ", " << high_text << "], got " << value;
  return out.str();
}

}  // namespace

std::string invalid_input(const ThresholdInputs& in) {
  // Every count must be >= 1: a zero or negative size, epoch count, population or
  // generation count has no meaning in the formula (and Pr = 1/Size(Ev) needs Size(Ev) > 0).
  const std::pair<const char*, std::int64_t> counts[] = {
      {"train_size", in.train_size}, {"epochs", in.epochs},       {"population", in.population},
      {"generations", in.generations}, {"eval_size", in.eval_size}};
  for (const auto& [option, value] : counts)
    if (value < 1 || value > kMaxCount) return out_of_range(option, value, 1, "1e12");
  if (in.max_n < 1 || in.max_n > kMaxN) return out_of_range("max_n", in.max_n, 1, "1e15");
  return "";
}

long double log_p_clue(std::int64_t n) {
  // N = 1 would evaluate 0 * ln(0) = NaN; as a limit (and by 0^0 = 1) P(1) = 1:
  // a single block always sits at its own position.
  if (n <= 1) return 0.0L;
  const long double N = static_cast<long double>(n);
  // log1p keeps the precision of ln(1 - 1/sqrt(N)) when 1/sqrt(N) is small.
  return -std::log(N) + (N - 1) * std::log1p(-1.0L / std::sqrt(N));
}

double p_clue(std::int64_t n) { return static_cast<double>(std::exp(log_p_clue(n))); }

long double log_expected_clues(std::int64_t n, std::int64_t population) {
  return std::log(static_cast<long double>(population)) + log_p_clue(n);
}

// Pop P(clue) >= 1 decided in log space, except at the ties, which floating point
// cannot be trusted to resolve. The ties Pop P(N) = 1 (Pop >= 1 an integer) are exactly
// N = 1 (P = 1, any Pop) and N = 4 with Pop = 32 (P(4) = (1/4)(1/2)^3 = 1/32):
// - N not a square: x = 1/sqrt(N) is irrational with x^2 rational, and with m = N-1 >= 1
//   (1-x)^m = A - B x with A, B rational and B = sum over odd j of C(m,j) N^-((j-1)/2)
//   >= m > 0, so (1-x)^m is irrational and can never equal the rational N/Pop.
// - N = k^2: the tie needs Pop = k^(k^2+1) / (k-1)^(k^2-1); for k >= 3, k-1 >= 2 shares
//   no factor with k, so that is not an integer. k = 2 gives Pop = 32, k = 1 gives N = 1.
// Everywhere else E differs from 1 and the sign of ln E is what the long double gives
// (its error, ~1e-18 of sqrt(N), is far below the margins that occur; callers print E
// on both sides of the threshold so the margin is visible).
bool clue_condition(std::int64_t n, std::int64_t population) {
  if (n <= 1) return population >= 1;
  if (n == 4) return population >= 32;
  return log_expected_clues(n, population) >= 0;
}

TimeCondition time_condition(const ThresholdInputs& in) {
  using u128 = unsigned __int128;  // inputs <= 1e12 each: products <= 1e36 < 2^128
  const u128 attack = u128(in.generations) * u128(in.population) * u128(in.eval_size);
  const u128 train = u128(2) * u128(in.train_size) * u128(in.epochs);
  TimeCondition t;
  t.attack = static_cast<long double>(attack);
  t.train = static_cast<long double>(train);
  t.holds = attack <= train;
  return t;
}

// Monotonicity, which makes the bisection below exact: ln P(N) = -ln N + g(sqrt N) with
// g(s) = (s^2 - 1) ln(1 - 1/s). For s > 1, g'(s) = 2s ln(1 - 1/s) + (s + 1)/s, and
// ln(1 - u) < -u - u^2/2 on (0, 1) gives 2s ln(1 - 1/s) < -2 - 1/s, so g'(s) < -1 < 0.
// -ln N is strictly decreasing too, so P is strictly decreasing on N > 1, and
// P(1) = 1 > P(2) = 0.146. Hence P is strictly decreasing on every N >= 1, the clue
// condition Pop P(N) >= 1 holds on a prefix {1, ..., L-1} and fails from L on. The time
// condition does not depend on N at all.
ThresholdResult solve(const ThresholdInputs& in) {
  ThresholdResult r;
  r.time = time_condition(in);
  r.precision = 1.0L / static_cast<long double>(in.eval_size);
  // Invariant: the condition holds at lo and fails at hi. It holds at N = 1 (Pop >= 1).
  if (!clue_condition(in.max_n, in.population)) {
    std::int64_t lo = 1, hi = in.max_n;
    while (hi - lo > 1) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      (clue_condition(mid, in.population) ? lo : hi) = mid;
    }
    r.clue_limit = hi;
  }
  r.smallest_infeasible = r.time.holds ? r.clue_limit : 1;
  return r;
}

SeedExample seed_example() {
  SeedExample s;
  s.blocks = s.rows * s.cols;
  const int exponent = static_cast<int>(s.exponent_plus_one - 1);
  const double base = 1.0 - 1.0 / static_cast<double>(s.rows);  // 15/16
  s.paper_p_clue = std::pow(base, exponent) / static_cast<double>(s.blocks);
  s.paper_expected_pop = static_cast<double>(s.inputs.population) * s.paper_p_clue;
  s.paper_expected_pop10 = 10.0 * s.paper_p_clue;
  s.ten_times_base = 10.0 * std::pow(base, exponent);
  s.formula_log_p_clue = log_p_clue(s.blocks);
  s.formula_log_expected = log_expected_clues(s.blocks, s.inputs.population);
  s.solved = solve(s.inputs);
  s.formula_ratio = static_cast<double>(s.solved.time.attack / s.solved.time.train);
  return s;
}

std::string format_from_log(long double natural_log, int digits) {
  char text[64];
  if (natural_log > -700 && natural_log < 700) {
    std::snprintf(text, sizeof text, "%.*e", digits - 1, static_cast<double>(std::exp(natural_log)));
    return text;
  }
  // Beyond a double: split log10 into exponent and mantissa by hand.
  const long double log10 = natural_log / std::log(10.0L);
  long double exponent = std::floor(log10);
  long double mantissa = std::pow(10.0L, log10 - exponent);
  const long double scale = std::pow(10.0L, digits - 1);
  mantissa = std::round(mantissa * scale) / scale;
  if (mantissa >= 10) {  // rounding carried into the next power of ten
    mantissa /= 10;
    exponent += 1;
  }
  std::snprintf(text, sizeof text, "%.*Lfe%+03lld", digits - 1, mantissa, static_cast<long long>(exponent));
  return text;
}

MeasuredThreshold measure_threshold(const std::vector<AttackRun>& runs, double recovery) {
  MeasuredThreshold m;
  std::map<std::int64_t, Granularity> by_blocks;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto& g = by_blocks[runs[i].blocks];
    g.blocks = runs[i].blocks;
    g.runs.push_back(i);
    g.best_recovery = std::max(g.best_recovery, runs[i].recovery);
    g.broken = g.best_recovery >= recovery;
  }
  for (auto& [blocks, g] : by_blocks) {
    if (!g.broken && m.smallest_unbroken == 0) m.smallest_unbroken = blocks;
    if (g.broken && m.smallest_unbroken == 0) m.largest_broken_below = blocks;
    if (g.broken && m.smallest_unbroken != 0) m.broken_above.push_back(blocks);
    m.granularities.push_back(std::move(g));
  }
  return m;
}

}  // namespace tessera::attack
