#!/usr/bin/env bash
# End-to-end tests of `tessera finetune`: an adversary holding half of a small MLP's
# layers.0 at their true positions (the rest of the model known) reaches 95% of the
# victim's accuracy on fewer samples than the layer trained from scratch; the file's
# series, flops and cost tables agree with each other; the same seed gives the same
# file, and one rank the same numbers as two; it starts from a search's placement
# (--finetune.from); analysis/plot_finetune.py draws the file; bad input fails cleanly.
#
# usage: finetune.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
REPO=$(realpath "$(dirname "$0")/../..")

# --- a small MLP (784-128-64-10, one epoch); layers.0 (128x784) in 16x16 blocks: 392
make_small_mlp
CUT=(--blocks.layers=layers.0 --blocks.bh=16 --blocks.bw=16)
SCHEDULE=(--adversary.public=10000 --finetune.evals=8 --run.threads=1)

# Checks a finetune file: check_file FILE STOLEN_RUN... (every run named must be there)
check_file() {
  "$PYTHON" - "$@" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
path, stolen_runs = sys.argv[1], sys.argv[2:]
def fail(*what):
    print("PROBLEM", *what); sys.exit(1)
with h5py.File(path, "r") as f:
    top = f["finetune"]
    victim, levels = float(top.attrs["victim_test_accuracy"]), top.attrs["levels"]
    epochs, evals, public = int(top.attrs["epochs"]), int(top.attrs["evals_per_epoch"]), int(top.attrs["public"])
    if sorted(top) != sorted(stolen_runs + ["layer_scratch", "model_scratch"]): fail("runs", sorted(top))
    # The GEMM flops of one training image, from the layer shapes (784-128-64-10):
    # rest known, only layers.0 trains: forward, its weight gradient, and the input
    # gradients of the two layers after it; whole model: every weight gradient too.
    macs = [784 * 128, 128 * 64, 64 * 10]
    known = 2 * sum(macs) + 2 * macs[0] + 2 * (macs[1] + macs[2])
    fresh = 2 * sum(macs) + 2 * sum(macs) + 2 * (macs[1] + macs[2])
    cost95 = {}
    for name, g in top.items():
        samples, acc, flops = g["samples"][:], g["test_accuracy"][:], g["flops"][:]
        if len(samples) != 1 + epochs * evals: fail(name, "has", len(samples), "points, not", 1 + epochs * evals)
        if samples[0] != 0 or samples[-1] != epochs * public or np.any(np.diff(samples) <= 0): fail(name, "samples", samples)
        arm = g.attrs["arm"]
        arm = arm.decode() if isinstance(arm, bytes) else arm
        expected = fresh if arm == "model_scratch" else known
        if g.attrs["flops_per_image"] != expected: fail(name, "flops per image", g.attrs["flops_per_image"], "not", expected)
        if not np.allclose(flops, samples * expected): fail(name, "flops are not samples x flops per image")
        if np.any(np.diff(g["seconds"][:]) <= 0): fail(name, "seconds do not grow")
        for key in ("test_accuracy", "fidelity"):
            if np.any((g[key][:] < 0) | (g[key][:] > 1)): fail(name, key, "outside [0, 1]")
        if acc[-1] < 0.5: fail(name, "did not learn: final accuracy", acc[-1])
        # The cost table is the first point at each level.
        cost = g["cost"][:]
        for i, level in enumerate(levels):
            reached = np.nonzero(acc >= level * victim)[0]
            want = [samples[reached[0]], flops[reached[0]], g["seconds"][reached[0]]] if len(reached) else [np.nan] * 3
            if not np.allclose(cost[i], want, equal_nan=True): fail(name, "cost at", level, cost[i], "not", want)
        cost95[name] = cost[list(levels).index(0.95)]
    for name in stolen_runs:
        g = top[name]
        for base, key in (("model_scratch", "steal_to_train"), ("layer_scratch", "steal_to_layer")):
            with np.errstate(invalid="ignore", divide="ignore"):
                want = g["cost"][:] / top[base]["cost"][:]
            if not np.allclose(g[key][:], want, equal_nan=True): fail(name, key, "is not cost / cost of", base)
    print("victim", round(victim, 4), "samples to 95%:",
          ", ".join(f"{name} {c[0]:.0f}" for name, c in cost95.items()))
CHECK
}

# --- acceptance: 50% of layers.0 held at true positions, the rest known
new_case
run_tessera finetune --model.checkpoint="$MLP" "${CUT[@]}" "${SCHEDULE[@]}" --train.epochs=2 --finetune.drop_rates=0.5 --run.out=out
expect_all_ranks_succeeded
FILE=$case_dir/out/finetune-mlp-mixnn.h5
out=$(check_file "$FILE" drop-0.5) || reasons+=("file: $out")
echo "     $out"
out=$("$PYTHON" - "$FILE" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    top = f["finetune"]
    s, scratch = top["drop-0.5"], top["layer_scratch"]
    if (s.attrs["blocks"], s.attrs["held"], s.attrs["position_recovery"]) != (392, 196, 1.0):
        print("PROBLEM held set", s.attrs["blocks"], s.attrs["held"], s.attrs["position_recovery"]); sys.exit(1)
    level = list(top.attrs["levels"]).index(0.95)
    stolen, baseline = s["cost"][level][0], scratch["cost"][level][0]
    # Measured: 2432 samples against 14992 (the layer from scratch).
    if not np.isfinite(stolen): print("PROBLEM stolen-init never reached 95% of the victim"); sys.exit(1)
    if np.isfinite(baseline) and not stolen < baseline:
        print("PROBLEM stolen-init took", stolen, "samples to 95%, the layer from scratch", baseline); sys.exit(1)
    # Before any training, half the true weights beat none.
    if not s["test_accuracy"][0] > scratch["test_accuracy"][0] + 0.1:
        print("PROBLEM untrained accuracy", s["test_accuracy"][0], "vs", scratch["test_accuracy"][0]); sys.exit(1)
    print("stolen-init", stolen, "samples to 95%, the layer from scratch", baseline)
CHECK
) || reasons+=("acceptance: $out")
echo "     $out"
finish_case "half of layers.0 held, rest known: stolen-init reaches 95% on fewer samples"

# --- the figure and its table
new_case
cp "$FILE" "$case_dir/"
out=$("$PYTHON" "$REPO/analysis/plot_finetune.py" "$case_dir/finetune-mlp-mixnn.h5" 2>&1) ||
  reasons+=("plot_finetune.py failed: $out")
[[ -s $case_dir/finetune-mlp-mixnn.png ]] || reasons+=("no figure")
grep -q "drop-0.5" <<<"$out" || reasons+=("the table has no drop-0.5 row: $out")
log=$case_dir.log
echo "$out" >"$log"
finish_case "plot_finetune.py draws the file"

# --- tuned held blocks, a fresh rest, two drop rates in one file
new_case
run_tessera finetune --model.checkpoint="$MLP" "${CUT[@]}" "${SCHEDULE[@]}" --train.epochs=2 --finetune.drop_rates=0.5,0.9 \
  --finetune.held=tuned --finetune.rest=fresh --run.out=out
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir/out/finetune-mlp-mixnn.h5" 2>&1 <<'CHECK'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    top = f["finetune"]
    held = {n: int(top[n].attrs["held"]) for n in ("drop-0.5", "drop-0.9")}
    # 39 of 392 blocks at 0.9; the drop sweep's held sets nest
    if not (held["drop-0.5"] == 196 and 35 <= held["drop-0.9"] <= 40): print("PROBLEM held", held); sys.exit(1)
    # rest fresh: every parameter trains (784*128+128 + 128*64+64 + 64*10+10)
    if top["drop-0.5"].attrs["trained_parameters"] != 109386: print("PROBLEM trained", top["drop-0.5"].attrs["trained_parameters"]); sys.exit(1)
    if top.attrs["rest"] != "fresh" and top.attrs["rest"] != b"fresh": print("PROBLEM rest attr"); sys.exit(1)
    print("held", held)
CHECK
) || reasons+=("tuned/fresh: $out")
echo "     $out"
finish_case "held tuned, rest fresh, two drop rates"

# --- same seed, same file; one rank, the same numbers up to round-off
new_case
for run in 1 2; do
  mkdir -p "$case_dir/run$run"
  (cd "$case_dir/run$run" && limited "$MPIEXEC" -n 2 --oversubscribe "$TESSERA" finetune \
     --model.checkpoint="$MLP" "${CUT[@]}" "${SCHEDULE[@]}" --train.epochs=1 --run.out=out) \
     >"$case_dir/run$run.log" 2>&1 || reasons+=("run $run failed: $(tail -2 "$case_dir/run$run.log")")
done
mkdir -p "$case_dir/alone"
(cd "$case_dir/alone" && limited "$TESSERA" finetune --model.checkpoint="$MLP" "${CUT[@]}" \
   "${SCHEDULE[@]}" --train.epochs=1 --run.out=out) >"$case_dir/alone.log" 2>&1 ||
  reasons+=("one-rank run failed: $(tail -2 "$case_dir/alone.log")")
out=$("$PYTHON" "$SAME_H5" "$case_dir"/run{1,2}/out/finetune-mlp-mixnn.h5 --ignore seconds cost steal_to_train \
      steal_to_layer created_utc 2>&1) || reasons+=("same seed: $(echo $out)")
echo "     $out"
out=$("$PYTHON" - "$case_dir"/run1/out/finetune-mlp-mixnn.h5 "$case_dir"/alone/out/finetune-mlp-mixnn.h5 2>&1 <<'CHECK'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for name in a["finetune"]:
        x, y = a["finetune"][name], b["finetune"][name]
        if not np.array_equal(x["samples"][:], y["samples"][:]): print("PROBLEM samples differ in", name); sys.exit(1)
        # the same steps up to float round-off: a few test images may change answer
        gap = np.max(np.abs(x["test_accuracy"][:] - y["test_accuracy"][:]))
        if gap > 0.005: print("PROBLEM", name, "accuracy differs by", gap, "between 2 ranks and 1"); sys.exit(1)
    print("2 ranks vs 1: accuracy series within 0.005")
CHECK
) || reasons+=("rank count: $out")
echo "     $out"
log=$case_dir/alone.log
finish_case "same seed -> same file; 1 rank -> the same numbers"

# --- from a search's placement: a chain's run, named after the chain (commas and all)
new_case
run_tessera attack --model.checkpoint="$MLP" "${CUT[@]}" --attack.method=stats,assignment --attack.drop_rate=0.5 \
  --attack.eval_images=1000 --attack.generations=20 --run.threads=1 --run.out=out
expect_all_ranks_succeeded
ATTACK=$case_dir/out/attack-mlp-mixnn.h5
run_tessera finetune --model.checkpoint="$MLP" "${SCHEDULE[@]}" --train.epochs=1 \
  --finetune.from="$ATTACK:stats,assignment" --run.out=out
expect_all_ranks_succeeded
out=$("$PYTHON" - "$ATTACK" "$case_dir/out/finetune-mlp-mixnn.h5" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    run, s = a["attack/stats,assignment"], b["finetune/attack-mlp-mixnn-stats,assignment"]
    if s.attrs["held"] != run.attrs["held"] or s.attrs["blocks"] != 392: print("PROBLEM held", s.attrs["held"]); sys.exit(1)
    if not np.isclose(s.attrs["position_recovery"], run["position_recovery"][-1]):
        print("PROBLEM recovery", s.attrs["position_recovery"], "vs", run["position_recovery"][-1]); sys.exit(1)
    print("from the search: position recovery", round(float(s.attrs["position_recovery"]), 3))
CHECK
) || reasons+=("from: $out")
echo "     $out"
finish_case "--finetune.from a search's best genome"

# --- SIGTERM during the first arm: it ends at its next evaluation point, the file
# holds what was done (complete = 0), and the run exits with the stopped code 3.
new_case
start_signalable finetune --model.checkpoint="$MLP" "${CUT[@]}" "${SCHEDULE[@]}" --train.epochs=30 \
  --finetune.drop_rates=0.5 --run.out=out
signal_when "stolen.*epoch 1/30" TERM
[[ $signalled_rc -eq 3 ]] || reasons+=("the signalled run exited $signalled_rc, expected 3 (stopped)")
grep -q "SIGTERM received: the arms done so far" "$log" || reasons+=("no line on the partial result")
out=$("$PYTHON" - "$case_dir/out/finetune-mlp-mixnn.h5" 2>&1 <<'CHECK'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = f["finetune"]
    if g.attrs["complete"] != 0 or g.attrs["stopped_by"] != "SIGTERM":
        print("PROBLEM complete", g.attrs["complete"], "stopped_by", g.attrs["stopped_by"]); sys.exit(1)
    arms = {name: g[name].attrs["arm"] for name in g}
    if list(arms.values()) != ["stolen"]: print("PROBLEM arms", arms); sys.exit(1)
    (name,) = arms
    points = len(g[name]["samples"])
    if not 2 <= points < 30 * 8 + 1: print("PROBLEM points", points); sys.exit(1)
    print(f"stopped in the stolen arm after {points - 1} of {30 * 8} points; the arms from scratch not run")
CHECK
) || reasons+=("partial: $out")
echo "     $out"
finish_case "finetune: SIGTERM mid-arm writes the arms done so far (complete = 0), exit 3"

# --- bad input
new_case
bad_case "a --finetune.from file with no attack run" --finetune.from "no /attack run" -- \
  finetune --model.checkpoint="$MLP" --finetune.from="$MLP" --run.out=out
new_case
cp "$ATTACK" "$FIXTURES/other.h5"
"$PYTHON" -c "import h5py, sys; h5py.File(sys.argv[1], 'r+')['attack/stats,assignment'].attrs['arch'] = 'vgg-mini'" "$FIXTURES/other.h5"
bad_case "a --finetune.from run of another model" --finetune.from "vgg-mini" "mlp-mixnn" -- \
  finetune --model.checkpoint="$MLP" --finetune.from="$FIXTURES/other.h5" --run.out=out
new_case
bad_case "a --finetune.from run that is not there" --finetune.from "'none'" -- \
  finetune --model.checkpoint="$MLP" --finetune.from="$ATTACK:none" --run.out=out
new_case
bad_case "more public images than the training set" --adversary.public 70000 60000 -- \
  finetune --model.checkpoint="$MLP" "${CUT[@]}" --adversary.public=70000 --run.out=out
new_case
bad_case "no public image" --adversary.public "at least 1" -- \
  finetune --model.checkpoint="$MLP" "${CUT[@]}" --adversary.public=0 --run.out=out
new_case
bad_case "an unknown rest mode" --finetune.rest "'half'" -- \
  finetune --model.checkpoint="$MLP" "${CUT[@]}" --finetune.rest=half --run.out=out
new_case
bad_case "an unknown held mode" --finetune.held "'stolen'" -- \
  finetune --model.checkpoint="$MLP" "${CUT[@]}" --finetune.held=stolen --run.out=out
new_case
bad_case "no victim model" --model.checkpoint -- finetune "${CUT[@]}" --run.out=out
new_case
bad_case "a drop rate that holds nothing" --finetune.drop_rates "holds nothing" -- \
  finetune --model.checkpoint="$MLP" "${CUT[@]}" --finetune.drop_rates=1 --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
