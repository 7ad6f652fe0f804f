#!/usr/bin/env bash
# End-to-end tests of `tessera attack`: the searches recover block positions on easy
# instances (a small MLP's layer in 4x4 blocks, all held, loss fitness), recover
# part of them on an 8x8 grid, the island GA on 3 attack ranks writes the same file
# twice from the same seed, and bad input fails cleanly.
#
# usage: attack.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

# --- a small MLP (784-128-64-10, one epoch); its layers.2 (64x128) is the target
make_small_mlp

# Runs an attack on 2 ranks (1 attack, 1 service) and checks the final position
# recovery of the file's run against a bound: check_recovery NAME OP BOUND -- ARGS
check_recovery() {
  local name=$1 op=$2 bound=$3
  shift 4
  new_case
  run_tessera attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --attack.drop_rate=0 \
    --attack.eval_images=3000 --ga.population=50 --sa.moves=20 --run.threads=1 \
    --run.out=out "$@"
  expect_all_ranks_succeeded
  local out
  out=$("$PYTHON" - "$case_dir/out/attack-mlp-mixnn.h5" "$op" "$bound" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
path, op, bound = sys.argv[1], sys.argv[2], float(sys.argv[3])
with h5py.File(path, "r") as f:
    (name, g), = f["attack"].items()
    reason = g.attrs["stop_reason"]
    reason = reason.decode() if isinstance(reason, bytes) else reason
    # a finished search stops early (stats: one placement, no search; sinkhorn: after its steps)
    G = len(g["best_fitness"]) if reason == "search finished" else g.attrs["generations"] + 1
    rec, best = g["position_recovery"][:], g["best_fitness"][:]
    for key in ("best_fitness", "mean_fitness", "best_accuracy", "position_recovery", "diversity", "wall_seconds"):
        if g[key].shape != (G,): print("PROBLEM", key, g[key].shape); sys.exit(1)
    last = name.split(",")[-1]  # a chain's history is its last method's
    # assignment, sinkhorn, rl: the best and the current placement
    members = {"ga": g.attrs["population"], "sa": 1, "assignment": 2, "stats": 1, "sinkhorn": 2, "rl": 2}[last]
    if g["fitness"].shape != (G, members): print("PROBLEM fitness", g["fitness"].shape); sys.exit(1)
    if g["best_genome"].shape != (G, g.attrs["held"]): print("PROBLEM best_genome", g["best_genome"].shape); sys.exit(1)
    # the recorded recovery is that of the recorded best genome
    if not np.isclose(np.mean(g["best_genome"][-1] == g["truth"][:]), rec[-1]): print("PROBLEM recovery mismatch"); sys.exit(1)
    if last != "sa" and np.any(np.diff(best) < 0): print("PROBLEM", name, "best fitness fell (it is kept)"); sys.exit(1)
    # The assessment after the search: every block at its true position is functionally
    # recovered; a placement equal to the truth scores as the truth on the test set; with
    # every block held, the truth is the victim (its file's test accuracy).
    fr, ta, tta, va = (float(g.attrs[k]) for k in ("functional_recovery", "test_accuracy", "true_test_accuracy",
                                                   "victim_test_accuracy"))
    if not rec[-1] <= fr <= 1: print("PROBLEM functional recovery", fr, "below position recovery", rec[-1]); sys.exit(1)
    if rec[-1] == 1 and not (fr == 1 and ta == tta): print("PROBLEM the true placement assessed as", fr, ta, tta); sys.exit(1)
    if not abs(tta - va) <= 0.002: print("PROBLEM all held at their true positions:", tta, "but the victim", va); sys.exit(1)
    if not 0 < ta <= 1: print("PROBLEM test accuracy", ta); sys.exit(1)
    # every block held at its true position is the victim's weight: the victim's answers
    fid = float(g.attrs["test_fidelity"])
    if not 0 <= fid <= 1 or (rec[-1] == 1 and g.attrs["held"] == g.attrs["blocks"] and fid != 1):
        print("PROBLEM test fidelity", fid, "at recovery", rec[-1]); sys.exit(1)
    ok = rec[-1] == bound if op == "==" else rec[-1] > bound
    # the search improved on its random start (sinkhorn here: uniform logits) by far more than round-off
    # (measured gains 0.9-2.5); the others do not start at random (their first step is a whole placement)
    if name in ("ga", "sa", "sinkhorn", "rl") and not best[-1] - best[0] > 0.3: print("PROBLEM best fitness rose only", best[-1] - best[0]); sys.exit(1)
    print(f"{name}: position recovery {rec[0]:.3f} -> {rec[-1]:.3f} (functional {fr:.3f}), best fitness "
          f"{best[0]:.4f} -> {best[-1]:.4f}, test accuracy {ta:.4f} (true positions {tta:.4f}), fidelity {fid:.4f}")
    if not ok: print("PROBLEM final recovery", rec[-1], "is not", op, bound); sys.exit(1)
CHECK
  ) || reasons+=("results: $(echo $out)")
  echo "     $out"
  recovery_runs+=("$FIXTURES/recovery-${#recovery_runs[@]}.h5")
  cp "$case_dir/out/attack-mlp-mixnn.h5" "${recovery_runs[-1]}"
  finish_case "$name"
}
recovery_runs=()

# Generations: a search's path depends on the CPU's round-off, so each gets several
# times what it needed on any seed tried (GA 4x4: 43-95 generations; SA 4x4: 7-25).
check_recovery "GA recovers every position (4x4 grid, all held)" == 1 -- \
  --attack.method=ga --blocks.bh=16 --blocks.bw=32 --attack.generations=400
check_recovery "SA recovers every position (4x4 grid, all held)" == 1 -- \
  --attack.method=sa --blocks.bh=16 --blocks.bw=32 --attack.generations=200
# Chance is 1/64; at least 4 of the 64 (4x chance, which a random placement reaches
# about 2% of the time). Measured over 12 seeds: GA 8-15 of 64, SA 27-37.
check_recovery "GA recovers part of the positions (8x8 grid)" '>' 0.05 -- \
  --attack.method=ga --blocks.bh=8 --blocks.bw=16 --attack.generations=100
check_recovery "SA recovers part of the positions (8x8 grid)" '>' 0.05 -- \
  --attack.method=sa --blocks.bh=8 --blocks.bw=16 --attack.generations=100
# The threshold cases below take the four runs above (recovery_runs 0-3).
# The linearised assignment places all 16 at its first step (generation 0) here.
check_recovery "linearised assignment recovers every position (4x4 grid, all held)" == 1 -- \
  --attack.method=assignment --blocks.bh=16 --blocks.bw=32 --attack.generations=50
check_recovery "linearised assignment recovers part of the positions (8x8 grid)" '>' 0.05 -- \
  --attack.method=assignment --blocks.bh=8 --blocks.bw=16 --attack.generations=100

# Gumbel-Sinkhorn learning from nothing (uniform logits: its first rounding is an
# arbitrary placement): the soft placement hardens over its steps and the rounding of
# its logits is scored every step. Measured: 4x4 all 16 within 20 of the 200 steps;
# 8x8 1 -> 55 of 64 (the bound is 16x chance).
check_recovery "Gumbel-Sinkhorn recovers every position (4x4 grid, all held)" == 1 -- \
  --attack.method=sinkhorn --sinkhorn.init=uniform --blocks.bh=16 --blocks.bw=32 --attack.generations=1000
check_recovery "Gumbel-Sinkhorn recovers part of the positions (8x8 grid, all held)" '>' 0.25 -- \
  --attack.method=sinkhorn --sinkhorn.init=uniform --blocks.bh=8 --blocks.bw=16 --attack.generations=1000

# The seed's agent, REINFORCE over swaps, from a random placement. Measured: 4x4 all
# 16 within 10 of the 100 generations; 8x8 0 -> 44 of 64 (the bound is 16x chance).
check_recovery "RL agent recovers every position (4x4 grid, all held)" == 1 -- \
  --attack.method=rl --blocks.bh=16 --blocks.bw=32 --attack.generations=100
check_recovery "RL agent recovers part of the positions (8x8 grid, all held)" '>' 0.25 -- \
  --attack.method=rl --blocks.bh=8 --blocks.bw=16 --attack.generations=100
# The same agent with a policy that does not learn (a step size of 1e-12): what the
# learning adds. Measured: best fitness -0.406 learning, -0.862 frozen (recovery 44 and
# 11 of 64); the bound is a quarter of that gap.
check_recovery "RL agent with a frozen policy (8x8 grid, all held)" '>' 0 -- \
  --attack.method=rl --rl.lr=1e-12 --blocks.bh=8 --blocks.bw=16 --attack.generations=100
new_case
out=$("$PYTHON" - "${recovery_runs[-2]}" "${recovery_runs[-1]}" 2>&1 <<'CHECK'
import sys, h5py
learning, frozen = (h5py.File(p, "r")["attack/rl"]["best_fitness"][-1] for p in sys.argv[1:3])
print(f"best fitness: learning {learning:.4f}, frozen {frozen:.4f}")
if not learning > frozen + 0.1: print("PROBLEM the learning policy is not clearly better"); sys.exit(1)
CHECK
) || reasons+=("results: $(echo $out)")
echo "     $out"
finish_case "RL: the learning policy ends fitter than a frozen one"

# Statistics matching places the blocks from the weights alone, in one step: all 16
# on the 4x4 grid; 34 of the 64 on the 8x8 (chance: 1 of 64), where the bound is 8x chance.
check_recovery "statistics matching places every block (4x4 grid, all held)" == 1 -- \
  --attack.method=stats --blocks.bh=16 --blocks.bw=32
check_recovery "statistics matching places part of the blocks (8x8 grid, all held)" '>' 0.125 -- \
  --attack.method=stats --blocks.bh=8 --blocks.bw=16

# A chain: the assignment starts from the statistics' placement and keeps it unless it
# improves on it, the annealing starts from the best of that: so the chain's first
# recorded fitness is at least the statistics' (up to the round-off of the annealing's
# incremental scorer), and the final recovery is well above chance.
check_recovery "chain stats,assignment,sa (8x8 grid, all held)" '>' 0.125 -- \
  --attack.method=stats,assignment,sa --blocks.bh=8 --blocks.bw=16 --attack.generations=30
new_case
out=$("$PYTHON" - "${recovery_runs[-2]}" "${recovery_runs[-1]}" 2>&1 <<'CHECK'
import sys, h5py
stats, chain = (h5py.File(p, "r")["attack"] for p in sys.argv[1:3])
s, c = stats["stats"], chain["stats,assignment,sa"]
method = c.attrs["method"]; method = method.decode() if isinstance(method, bytes) else method
if method != "stats,assignment,sa": print("PROBLEM method attribute", method); sys.exit(1)
s0, c0 = s["best_fitness"][0], c["best_fitness"][0]
if not c0 >= s0 - 1e-6: print("PROBLEM the chain starts below the statistics' placement:", c0, "<", s0); sys.exit(1)
print(f"statistics' fitness {s0:.4f}; chain starts at {c0:.4f}, ends at {c['best_fitness'][-1]:.4f}, "
      f"recovery {s['position_recovery'][-1]:.3f} -> {c['position_recovery'][-1]:.3f}")
CHECK
) || reasons+=("results: $(echo $out)")
echo "     $out"
finish_case "chain: starts from the statistics' placement, at least as fit"

# --- initialisation matching: the model's initial weights regenerated from a guessed seed.
# init_attack NAME MODEL EXPECT ARGS...: EXPECT is "confirmed SEED" or "none".
init_attack() {
  local name=$1 model=$2 expect=$3
  shift 3
  new_case
  run_tessera attack --model.checkpoint="$model" --blocks.layers=layers.2 --blocks.bh=8 --blocks.bw=16 \
    --attack.drop_rate=0.5 --attack.eval_images=500 --attack.method=init --attack.generations=20 \
    --run.threads=1 --run.out=out "$@"
  expect_all_ranks_succeeded
  if [[ $expect == none ]]; then
    tessera_lines | grep -q "no init seed guess confirmed" || reasons+=("no 'no init seed guess confirmed' line")
  else
    tessera_lines | grep -q "init seed guess ${expect#confirmed }: .*(confirmed)" || reasons+=("seed ${expect#confirmed } not confirmed")
  fi
  local out
  out=$("$PYTHON" - "$case_dir/out/attack-mlp-mixnn.h5" "$expect" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
g = h5py.File(sys.argv[1], "r")["attack/init"]
rec, reason = g["position_recovery"][:], g.attrs["stop_reason"]
if isinstance(reason, bytes): reason = reason.decode()
if sys.argv[2] != "none":
    # The matched placement is the answer: one generation, every block where its initial block was.
    if reason != "search finished" or len(rec) != 1: print("PROBLEM", reason, len(rec)); sys.exit(1)
    if not rec[-1] >= 0.9: print("PROBLEM recovery", rec[-1]); sys.exit(1)
else:
    if reason != "generations" or len(rec) != 21: print("PROBLEM", reason, len(rec)); sys.exit(1)
print(f"init: {reason}, {len(rec)} generation(s), position recovery {rec[-1]:.3f}")
CHECK
  ) || reasons+=("results: $(echo $out)")
  echo "     $out"
  finish_case "$name"
}
# The fixture was trained with the default --run.seed (1), so its initialisation is public.
init_attack "init matching: the default seed is guessed, confirmed, and places the blocks" "$MLP" "confirmed 1"
init_attack "init matching: wrong guesses are rejected (linearised assignment instead)" "$MLP" none --init.seeds=7,8
new_case
run_tessera train --model.arch=mlp-mixnn --train.epochs=1 --train.init_seed=424242 --run.out="$FIXTURES/secret"
expect_all_ranks_succeeded
"$PYTHON" -c "import h5py, sys; c = h5py.File(sys.argv[1])['/'].attrs['config']; c = c.decode() if isinstance(c, bytes) else c; \
sys.exit(0 if 'init_seed = secret' in c and '424242' not in c else 1)" "$FIXTURES/secret/mlp-mixnn.h5" ||
  reasons+=("the model file records the secret initialisation seed")
finish_case "train --train.init_seed: the model file does not record the seed"
init_attack "init matching: a secret initialisation seed is not confirmed" "$FIXTURES/secret/mlp-mixnn.h5" none \
  --init.seeds=0,1,42,1234

# --- the measured threshold, from copies of those four runs whose final recoveries are
# chosen (a search's exact recovery depends on the CPU's round-off; the estimator does
# not). chosen_recoveries R0 R1 R2 R3 writes the copies and sets $chosen to their list.
chosen_recoveries() {
  chosen=""
  local k
  for k in 0 1 2 3; do
    cp "${recovery_runs[$k]}" "$case_dir/chosen-$k.h5"
    chosen+="${chosen:+,}$case_dir/chosen-$k.h5"
  done
  "$PYTHON" - "$case_dir" "$@" <<'SET' || reasons+=("could not set the chosen recoveries")
import sys, h5py
folder, values = sys.argv[1], [float(v) for v in sys.argv[2:]]
for k, value in enumerate(values):
    with h5py.File(f"{folder}/chosen-{k}.h5", "r+") as f:
        (g,) = f["attack"].values()
        g["position_recovery"][-1] = value
SET
}
expect_threshold_lines() {
  local line
  for line in "$@"; do
    tessera_lines | grep -q -- "$line" || reasons+=("no line matching '$line'")
  done
}

# 4x4 runs (N = 16) at 1 and 0.75, 8x8 runs (N = 64) at 0.3 and 0.45: N = 64 holds at 0.5.
new_case
chosen_recoveries 1 0.75 0.3 0.45
run_tessera threshold --threshold.from="$chosen" --threshold.recovery=0.5
expect_all_ranks_succeeded
expect_threshold_lines "N = 16: broken, best recovery 1$" "N = 64: not broken, best recovery 0.45" \
  "measured threshold: N = 64 (N = 16 was broken" "at these runs' Pop = 50, gen = 100, Size(Ev) = 3000"
[[ $(tessera_lines | grep -c "chosen-[0-3].h5:/attack/") -eq 4 ]] || reasons+=("not four runs listed")
echo "     $(tessera_lines | grep 'measured threshold')"
finish_case "threshold --from: N = 64 holds when its best run stays below the bar"

# The same runs with one 8x8 run at 0.6: every granularity broken, the threshold lies above.
new_case
chosen_recoveries 1 0.75 0.6 0.45
run_tessera threshold --threshold.from="$chosen" --threshold.recovery=0.5
expect_all_ranks_succeeded
expect_threshold_lines "N = 64: broken, best recovery 0.6$" "measured threshold: above N = 64 (every granularity run"
echo "     $(tessera_lines | grep 'measured threshold')"
finish_case "threshold --from: every granularity broken"

# Only N = 16 below the bar (0.25 and 0.4), N = 64 above it (0.7): not monotone, said so.
new_case
chosen_recoveries 0.25 0.4 0.7 0.1
run_tessera threshold --threshold.from="$chosen" --threshold.recovery=0.5
expect_all_ranks_succeeded
expect_threshold_lines "N = 16: not broken, best recovery 0.4$" "NOT MONOTONE: N = 64"
finish_case "threshold --from: a broken granularity above an unbroken one is flagged"
# Runs a threshold can not be read from: each refused, naming the file and the run.
# damaged_runs CHANGE: the chosen runs, with one of them changed, moved out of the case
# folder (bad_case counts every .h5 in it as output left behind).
damaged_runs() {
  chosen_recoveries 1 0.75 0.3 0.45
  "$PYTHON" - "$case_dir/chosen-2.h5" "$1" <<'DAMAGE' || reasons+=("could not damage the run")
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    (g,) = f["attack"].values()
    change = sys.argv[2]
    if change == "nan": g["position_recovery"][-1] = float("nan")
    elif change == "negative": g.attrs["blocks"] = -5
    elif change == "block-size": g.attrs["bh"] = g.attrs["bh"] * 2
DAMAGE
  local runs=$FIXTURES/runs-$1
  mkdir -p "$runs"
  mv "$case_dir"/chosen-*.h5 "$runs/"
  chosen=${chosen//$case_dir/$runs}
}
new_case
damaged_runs nan
bad_case "threshold --from a run whose recovery is NaN" --threshold.from chosen-2.h5 "position recovery nan" -- \
  threshold --threshold.from="$chosen"
new_case
damaged_runs negative
bad_case "threshold --from a run of -5 blocks" --threshold.from chosen-2.h5 "blocks -5" -- \
  threshold --threshold.from="$chosen"
new_case
damaged_runs block-size
bad_case "threshold --from a block size that does not tile the layer" --threshold.from chosen-2.h5 "do not tile" -- \
  threshold --threshold.from="$chosen"
new_case
damaged_runs none
bad_case "threshold --from one file twice" --threshold.from "given twice" -- \
  threshold --threshold.from="$chosen,$FIXTURES/runs-none/./chosen-0.h5"
new_case
bad_case "threshold --from a file that is not an attack file" --threshold.from "$MLP" "no /attack runs" -- \
  threshold --threshold.from="$MLP"
new_case
bad_case "threshold --from a missing file" --threshold.from "cannot read" -- \
  threshold --threshold.from=missing.h5

# --- island GA on 3 attack ranks + 1 service rank: the same file twice
new_case
base=$case_dir
for n in 1 2; do
  case_dir=$base/run$n  # the same relative --run.out, so that the resolved configurations match
  mkdir -p "$case_dir"
  RANKS=4 run_tessera attack --model.checkpoint="$MLP" --attack.ranks=3 --blocks.layers=layers.2 --blocks.bh=16 \
    --blocks.bw=32 --attack.drop_rate=0.25 --attack.eval_images=500 --attack.generations=30 --ga.population=20 \
    --ga.migration_every=5 --attack.snapshot_every=10 --run.threads=1 --run.out=out
  expect_all_ranks_succeeded
done
case_dir=$base
# Everything but the clocks (and the floor, from the sgemm rate measured) must be equal.
out=$("$PYTHON" "$SAME_H5" "$case_dir"/run{1,2}/out/attack-mlp-mixnn.h5 \
      --ignore wall_seconds seconds created_utc floor_seconds 2>&1) || reasons+=("two runs differ: $(echo $out)")
echo "     $out"
out=$("$PYTHON" - "$case_dir"/run1/out/attack-mlp-mixnn.h5 2>&1 <<'CHECK'
import sys, h5py
a = h5py.File(sys.argv[1], "r")
problems = []
g = a["attack/ga"]
if g["fitness"].shape != (31, 60): problems.append(f"fitness shape {g['fitness'].shape}, expected (31, 60): 3 islands x 20")
if g["snapshots/population"].shape != (4, 60, 16): problems.append(f"snapshots {g['snapshots/population'].shape}")
if a.attrs["attack_ranks"] != 3 or a.attrs["service_ranks"] != 1: problems.append("rank attrs")
if problems: print("PROBLEM", problems); sys.exit(1)
print(f"best fitness {g['best_fitness'][0]:.4f} -> {g['best_fitness'][-1]:.4f}")
CHECK
) || reasons+=("results: $(echo $out)")
echo "     $out"
finish_case "island GA on 3 attack ranks: history readable, same seed -> same file"

# --- 3 attack ranks + 1 service rank: the same file twice.
# same_file_twice NAME ARGS...: the run's settings beyond the model, ranks and threads.
same_file_twice() {
  local name=$1
  shift
  new_case
  local base=$case_dir n
  for n in 1 2; do
    case_dir=$base/run$n  # the same relative --run.out, so that the resolved configurations match
    mkdir -p "$case_dir"
    RANKS=4 run_tessera attack --model.checkpoint="$MLP" --attack.ranks=3 --blocks.layers=layers.2 \
      --attack.eval_images=500 --run.threads=1 --run.out=out "$@"
    expect_all_ranks_succeeded
  done
  case_dir=$base
  local out
  out=$("$PYTHON" "$SAME_H5" "$case_dir"/run{1,2}/out/attack-mlp-mixnn.h5 \
        --ignore wall_seconds seconds created_utc floor_seconds 2>&1) || reasons+=("results: $(echo $out)")
  echo "     $out"
  finish_case "$name on 3 attack ranks: same seed -> same file"
}
same_file_twice "linearised assignment" --attack.method=assignment --blocks.bh=8 --blocks.bw=16 \
  --attack.drop_rate=0.5 --attack.generations=200
# each rank learns its own logits with its own noise
same_file_twice "Gumbel-Sinkhorn" --attack.method=sinkhorn --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 \
  --sinkhorn.steps=60 --attack.generations=1000
# the ranks' policy gradients are summed: one policy
same_file_twice "RL agent" --attack.method=rl --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 \
  --attack.generations=40

# --- the attack file collects runs: a second run is added beside the first, one of
# the same name or of another cut is refused before the search with the file kept
# byte for byte, and --attack.replace replaces that run only.
new_case
COLLECT=(attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --attack.drop_rate=0.5 --attack.eval_images=500
         --run.threads=1 --run.out=out)
run_tessera "${COLLECT[@]}" --attack.method=ga --attack.generations=5
expect_all_ranks_succeeded
run_tessera "${COLLECT[@]}" --attack.method=sa --attack.generations=5
expect_all_ranks_succeeded
FILE=$case_dir/out/attack-mlp-mixnn.h5
cp "$FILE" "$case_dir/two-runs.h5"
run_tessera "${COLLECT[@]}" --attack.method=sa --attack.generations=5
expect_all_ranks_failed
expect_one_message "holds /attack/sa already" "--attack.run" "--attack.replace=true"
cmp -s "$FILE" "$case_dir/two-runs.h5" || reasons+=("a refused run of the same name changed the file")
run_tessera "${COLLECT[@]}" --attack.method=sa --attack.generations=5 --attack.run=other --blocks.bh=8
expect_all_ranks_failed
expect_one_message "cannot add this run" "cut in 64x64 blocks, this run's in 8x64"
cmp -s "$FILE" "$case_dir/two-runs.h5" || reasons+=("a refused run of another cut changed the file")
[[ -z $(find "$case_dir" -name '*.partial') ]] || reasons+=("a .partial file was left behind")
run_tessera "${COLLECT[@]}" --attack.method=sa --attack.replace=true --attack.generations=3
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir/two-runs.h5" "$FILE" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as before, h5py.File(sys.argv[2], "r") as after:
    if sorted(after["attack"]) != ["ga", "sa"]: print("PROBLEM runs", sorted(after["attack"])); sys.exit(1)
    for key in ("best_fitness", "position_recovery", "truth"):
        if not np.array_equal(before["attack/ga"][key][:], after["attack/ga"][key][:]):
            print("PROBLEM ga's", key, "changed"); sys.exit(1)
    if len(after["attack/sa/best_fitness"]) != 4: print("PROBLEM sa not replaced:", len(after["attack/sa/best_fitness"])); sys.exit(1)
    for run, generations in (("ga", 5), ("sa", 3)):
        attrs = after["attack/" + run].attrs
        if f"generations = {generations}" not in attrs["config"] or "created_utc" not in attrs:
            print("PROBLEM run", run, "lacks its own provenance"); sys.exit(1)
    print("ga kept as it was, sa replaced (3 generations), each with its own config")
CHECK
) || reasons+=("collect: $out")
echo "     $out"
finish_case "attack file collects runs: added, refused (same name, other cut) unchanged, replaced alone"

# --- bad input
new_case
bad_case "attack ranks >= world size" --attack.ranks -- \
  attack --model.checkpoint="$MLP" --attack.ranks=2 --run.out=out
new_case
bad_case "population < 2" --ga.population -- \
  attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=32 --ga.population=1 \
  --run.out=out
new_case
bad_case "nothing held (drop rate 1)" --attack.drop_rate "nothing to search" -- \
  attack --model.checkpoint="$MLP" --attack.drop_rate=1 --run.out=out
new_case
bad_case "a negative number of eval images" --attack.eval_images ">= 0" -- \
  attack --model.checkpoint="$MLP" --attack.eval_images=-1 --run.out=out
new_case
bad_case "an unknown method names the known ones" --attack.method "'hill'" "known: ga, sa, assignment" -- \
  attack --model.checkpoint="$MLP" --attack.method=hill --run.out=out
new_case
bad_case "a chain with a data-only method after the first" --attack.method "stats cannot start from" "put it first" -- \
  attack --model.checkpoint="$MLP" --attack.method=assignment,stats --run.out=out
new_case
bad_case "a chain with a method that never comes to rest before the last" --attack.method "ga never comes to rest" \
  "put it last" -- attack --model.checkpoint="$MLP" --attack.method=ga,sa --run.out=out
new_case
bad_case "init seeds that are not seeds" --init.seeds "'x'" -- \
  attack --model.checkpoint="$MLP" --attack.method=init --init.seeds=1,x --run.out=out
new_case
bad_case "assignment kick outside [0, 1]" --assignment.kick -- \
  attack --model.checkpoint="$MLP" --attack.method=assignment --assignment.kick=1.5 --run.out=out
new_case
bad_case "a temperature schedule that is not positive" --sinkhorn.tau_start "positive" -- \
  attack --model.checkpoint="$MLP" --attack.method=sinkhorn --sinkhorn.tau_start=0 --run.out=out
new_case
bad_case "a temperature that rises" --sinkhorn.tau_end "falls" -- \
  attack --model.checkpoint="$MLP" --attack.method=sinkhorn --sinkhorn.tau_end=2 --run.out=out
new_case
bad_case "an episode without swaps" --rl.horizon -- \
  attack --model.checkpoint="$MLP" --attack.method=rl --rl.horizon=0 --run.out=out
new_case
bad_case "a chain with an empty method (stats,,sa)" --attack.method "empty item" -- \
  attack --model.checkpoint="$MLP" --attack.method=stats,,sa --run.out=out
new_case
bad_case "scoring on a GPU this build or machine lacks" --attack.device=cuda -- \
  attack --model.checkpoint="$MLP" --attack.method=sinkhorn --attack.device=cuda --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
