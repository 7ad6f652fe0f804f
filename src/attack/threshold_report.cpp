#include "attack/threshold_report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

namespace tessera::attack {

namespace {

template <class T>
std::string num(T value) {
  std::ostringstream out;
  out.precision(4);
  out << static_cast<double>(value);
  return out.str();
}

// E = Pop P(clue) at N, as text (log space: it underflows for large N).
std::string expected_at(std::int64_t n, std::int64_t population) {
  const long double log_e = log_expected_clues(n, population);
  return log_e > -9 && log_e < 9 ? num(std::exp(log_e)) : format_from_log(log_e);
}

}  // namespace

std::vector<std::string> formula_report(const ThresholdInputs& in, const ThresholdResult& r) {
  std::vector<std::string> lines;
  lines.push_back("inputs: Size(Tr) = " + std::to_string(in.train_size) + ", Ep = " + std::to_string(in.epochs) +
                  ", Pop = " + std::to_string(in.population) + ", gen = " + std::to_string(in.generations) +
                  ", Size(Ev) = " + std::to_string(in.eval_size) + " (Pr = 1/Size(Ev) = " + num(r.precision) +
                  "); N searched in [1, " + std::to_string(in.max_n) + "]");
  lines.push_back("time condition gen Pop Size(Ev) <= 2 Size(Tr) Ep: T_ak/T = " + num(r.time.attack) +
                  ", T_tr/T = " + num(r.time.train) + ", T_ak/T_tr = " + num(r.time.attack / r.time.train) +
                  (r.time.holds ? ": holds" : ": fails, for every N (it does not depend on N)"));
  const std::string clue = "clue condition Pop (1/N)(1 - 1/sqrt N)^(N-1) >= 1: ";
  if (r.clue_limit == 0) {
    lines.push_back(clue + "holds for every N <= " + std::to_string(in.max_n) + " (E at N = max_n is " +
                    expected_at(in.max_n, in.population) + ")");
  } else if (r.clue_limit == 1) {
    lines.push_back(clue + "fails from N = 1");  // unreachable with Pop >= 1; kept for honesty
  } else {
    lines.push_back(clue + "holds up to N = " + std::to_string(r.clue_limit - 1) + " (E = " +
                    expected_at(r.clue_limit - 1, in.population) + "), fails from N = " +
                    std::to_string(r.clue_limit) + " (E = " + expected_at(r.clue_limit, in.population) +
                    "); P(clue) decreases in N, so it fails for every larger N");
  }
  if (r.smallest_infeasible == 0)
    lines.push_back("smallest infeasible N: none up to " + std::to_string(in.max_n) +
                    " (raise --threshold.max_n)");
  else if (!r.time.holds)
    lines.push_back("smallest infeasible N = 1: the time condition alone rules the attack out" +
                    (r.clue_limit ? "; the clue condition alone would give N = " + std::to_string(r.clue_limit)
                                  : std::string()));
  else
    lines.push_back("smallest infeasible N = " + std::to_string(r.smallest_infeasible) + " (N = " +
                    std::to_string(r.smallest_infeasible - 1) + " is still feasible)");
  return lines;
}

std::vector<std::string> seed_report() {
  const auto s = seed_example();
  const auto n = std::to_string(s.blocks), h1 = std::to_string(s.exponent_plus_one - 1);
  const auto grid = std::to_string(s.rows) + " x " + std::to_string(s.cols);
  const auto pop = std::to_string(s.inputs.population);
  std::vector<std::string> lines;
  lines.push_back("seed example: VGG16 fc1 (25088 x 4096) in 256 x 256 blocks = " + grid + " = " + n +
                  " blocks; the seed prints P(clue) = 1/(" + grid + ") (" + std::to_string(s.rows - 1) + "/" +
                  std::to_string(s.rows) + ")^(" + std::to_string(s.exponent_plus_one) + "-1) and E = " +
                  num(s.paper_expected) + ", and says the GA is " + num(s.talk_ratio) + "x the training cost");
  lines.push_back("seed example recomputed: its own expression gives P(clue) = " + num(s.paper_p_clue) +
                  ", E = " + num(s.paper_expected_pop) + " (Pop = " + pop + ") or " +
                  num(s.paper_expected_pop10) + " (Pop = 10)");
  lines.push_back("the formula at N = " + n + ": P(clue) = " + format_from_log(s.formula_log_p_clue) +
                  ", E = " + format_from_log(s.formula_log_expected) + " (Pop = " + pop +
                  "); T_ak/T_tr = " + num(s.formula_ratio) + "; smallest infeasible N = " +
                  std::to_string(s.solved.smallest_infeasible) + " (clue condition alone: " +
                  std::to_string(s.solved.clue_limit) + ")");
  const double root = std::sqrt(static_cast<double>(s.blocks));
  lines.push_back("DISCREPANCY 1 (base): the example uses " + std::to_string(s.rows - 1) + "/" +
                  std::to_string(s.rows) + " = 1 - 1/" + std::to_string(s.rows) +
                  " (16 = block rows), the formula 1 - 1/sqrt(N) = 1 - 1/" + num(root) + " = " +
                  num(1 - 1 / root) + "; they agree only for a square grid");
  lines.push_back("DISCREPANCY 2 (exponent): the example uses " + std::to_string(s.exponent_plus_one) + " - 1 = " +
                  h1 + " (156 is presumably the blocks held at drop 90%, 10% of " + n + "), the formula N - 1 = " +
                  std::to_string(s.blocks - 1));
  lines.push_back("DISCREPANCY 3 (E): the printed E = " + num(s.paper_expected) + " is not Pop P(clue) of the " +
                  "example's own expression (" + num(s.paper_expected_pop) + " at Pop = " + pop + ", " +
                  num(s.paper_expected_pop10) + " at Pop = 10) nor of the formula (" +
                  format_from_log(s.formula_log_expected) + "); it equals 10 x (15/16)^" + h1 + " = " +
                  num(s.ten_times_base) + ", i.e. Pop = 10 without the 1/(" + grid + ") factor (our reading)");
  lines.push_back("DISCREPANCY 4 (time): the formula gives T_ak/T_tr = " + num(s.formula_ratio) + ", the talk says " +
                  num(s.talk_ratio) + "x, and its own figures give " + num(s.talk_attack_minutes) + " min / " +
                  num(s.talk_train_minutes) + " min = " + num(s.talk_attack_minutes / s.talk_train_minutes) +
                  " (" + num(s.talk_attack_minutes / s.paper_train_minutes) + " with the paper's 2 GPU-hours)");
  return lines;
}

std::vector<std::string> measured_report(const std::vector<AttackRun>& runs, double recovery,
                                         const ThresholdInputs& options) {
  const auto m = measure_threshold(runs, recovery);
  std::vector<std::string> lines;
  lines.push_back("measured: " + std::to_string(runs.size()) + " attack run(s); a run breaks its granularity N " +
                  "when its best member has >= " + num(recovery) + " of the held blocks at their true positions");
  for (const auto& g : m.granularities) {
    lines.push_back("  N = " + std::to_string(g.blocks) + ": " + (g.broken ? "broken" : "not broken") +
                    ", best recovery " + num(g.best_recovery));
    for (auto i : g.runs) {
      const auto& r = runs[i];
      lines.push_back("    " + r.name + ": " + r.method + ", " + std::to_string(r.bh) + "x" + std::to_string(r.bw) +
                      " blocks, " + std::to_string(r.held) + " held, Pop " + std::to_string(r.population) +
                      ", gen " + std::to_string(r.generations) + ", Size(Ev) " + std::to_string(r.eval_images) +
                      ": recovery " + num(r.recovery) + ", best accuracy " + num(r.best_accuracy));
    }
  }
  if (m.smallest_unbroken == 0) {
    lines.push_back("measured threshold: above N = " + std::to_string(m.largest_broken_below) +
                    " (every granularity run was broken; run larger N)");
  } else {
    lines.push_back(m.largest_broken_below
                        ? "measured threshold: N = " + std::to_string(m.smallest_unbroken) + " (N = " +
                              std::to_string(m.largest_broken_below) + " was broken; no granularity between was run)"
                        : "measured threshold: at most N = " + std::to_string(m.smallest_unbroken) +
                              " (no run broke any granularity; run smaller N)");
  }
  if (!m.broken_above.empty()) {
    std::string above;
    for (auto n : m.broken_above) above += (above.empty() ? "" : ", ") + std::to_string(n);
    lines.push_back("NOT MONOTONE: N = " + above + " above the threshold was broken; more runs per granularity "
                    "would tell whether the threshold is real");
  }
  // The formula with the runs' own search effort, for comparison.
  std::vector<std::array<std::int64_t, 3>> efforts;
  for (const auto& r : runs) {
    const std::array<std::int64_t, 3> e{r.population, r.generations, r.eval_images};
    if (std::find(efforts.begin(), efforts.end(), e) == efforts.end()) efforts.push_back(e);
  }
  for (const auto& [population, generations, eval_size] : efforts) {
    auto in = options;
    in.population = population;
    in.generations = std::max<std::int64_t>(1, generations);
    in.eval_size = eval_size;
    const auto problem = invalid_input(in);
    if (!problem.empty()) continue;
    const auto r = solve(in);
    lines.push_back("the formula at these runs' Pop = " + std::to_string(population) + ", gen = " +
                    std::to_string(in.generations) + ", Size(Ev) = " + std::to_string(eval_size) +
                    " (Size(Tr), Ep from the options): smallest infeasible N = " +
                    (r.smallest_infeasible ? std::to_string(r.smallest_infeasible) : "none up to max_n") +
                    (r.time.holds ? "" : " (the time condition fails)") + ", clue condition alone: " +
                    (r.clue_limit ? std::to_string(r.clue_limit) : "none up to max_n"));
  }
  return lines;
}

}  // namespace tessera::attack
