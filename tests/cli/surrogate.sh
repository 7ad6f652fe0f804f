#!/usr/bin/env bash
# End-to-end tests of the surrogate adversary (`tessera attack --attack.method=surrogate`):
# it places every block of an easy instance (a small MLP's layers.2 in 16x16 blocks,
# all held), writes the same file twice from one seed, reads nothing of the cut layer
# but the held blocks and neither the victim's initialisation seed nor a test image,
# stops cleanly on SIGTERM during its training and resumes, and refuses bad settings.
#
# usage: surrogate.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

make_small_mlp  # MLP: 784-128-64-10, one epoch of the default recipe

BASE=(attack --attack.method=surrogate --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=16
      --attack.eval_images=500 --run.threads=1)
SURROGATE=("${BASE[@]}" --train.epochs=1 --surrogate.count=2)

# check_run FILE MIN_RECOVERY: the run's group records the surrogate's settings and
# its adversary's data, places at least MIN_RECOVERY of the held blocks, and judges
# its template against the victim's own update (the victim's initialisation is
# derived from its --run.seed): a perfect template places every block of this easy
# instance, and the surrogates' template correlates with it.
check_run() {
  local out
  out=$("$PYTHON" - "$1" "$2" 2>&1 <<'CHECK'
import sys, h5py
path, bound = sys.argv[1], float(sys.argv[2])
with h5py.File(path, "r") as f:
    g = f["attack/surrogate"]
    a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
    want = {"stop_reason": "search finished", "surrogate_count": 2, "surrogate_epochs": 1, "public_images": 10000,
            "public_split": "train"}
    for k, v in want.items():
        if a.get(k) != v: print("PROBLEM", k, a.get(k), "expected", v); sys.exit(1)
    rec = g["position_recovery"][:]
    if len(rec) != 1: print("PROBLEM", len(rec), "generations recorded, expected 1 (one placement)"); sys.exit(1)
    if not rec[-1] >= bound: print("PROBLEM position recovery", rec[-1], "below", bound); sys.exit(1)
    ceiling, correlation = a["template_ceiling"], a["template_correlation"]
    if not ceiling >= 0.95: print("PROBLEM template ceiling", ceiling, "below 0.95"); sys.exit(1)
    if not 0.2 <= correlation <= 1: print("PROBLEM template correlation", correlation, "outside [0.2, 1]"); sys.exit(1)
    print(f"position recovery {rec[-1]:.3f} of {a['held']} held blocks in {a['seconds']:.2f} s; "
          f"template ceiling {ceiling:.3f}, correlation {correlation:.3f}")
CHECK
  ) || reasons+=("results: $(echo $out)")
  echo "     $out"
}

# --- the easy instance, twice from one seed
new_case
base=$case_dir
for n in 1 2; do
  case_dir=$base/run$n  # the same relative --run.out, so that the recorded configurations match
  mkdir -p "$case_dir"
  run_tessera "${SURROGATE[@]}" --model.checkpoint="$MLP" --attack.drop_rate=0 --run.out=out
  expect_all_ranks_succeeded
done
case_dir=$base
# 1.0 measured (and at 8x16); 4x4 blocks fall to about 0.1: the margin is the block size
check_run "$case_dir/run1/out/attack-mlp-mixnn.h5" 1
out=$("$PYTHON" "$SAME_H5" "$case_dir"/run{1,2}/out/attack-mlp-mixnn.h5 \
      --ignore wall_seconds seconds created_utc floor_seconds 2>&1) || reasons+=("two runs differ: $(echo $out)")
echo "     $out"
finish_case "surrogate: layers.2 in 16x16 blocks, all held: every block placed; the same seed writes the same file"

# the quick start's attack figure takes a run of one placement beside a search's
new_case
run_tessera attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=16 \
  --attack.method=sa --attack.generations=5 --run.threads=1 --run.out=out --run.name=sa
expect_all_ranks_succeeded
"$PYTHON" "$(dirname "$0")/../../analysis/plot_attack.py" "$base/run1/out/attack-mlp-mixnn.h5" "$case_dir/out/sa.h5" \
  --out "$case_dir/attack.png" > "$case_dir/plot.log" 2>&1 || reasons+=("plot_attack.py: $(tail -n 3 "$case_dir/plot.log")")
[[ $(stat -c %s "$case_dir/attack.png" 2>/dev/null || echo 0) -gt 10000 ]] || reasons+=("no figure attack.png")
finish_case "plot_attack.py: the surrogate's placement beside an annealing run"

# --- what the surrogate reads. A victim whose initialisation seed is secret; then the
# same victim with every block the adversary does not hold replaced by noise, served
# on a test split replaced by noise: the surrogate's placement must not change (the
# eval images' scores do, so the replacements took effect).
new_case
run_tessera train --model.arch=mlp-mixnn --train.epochs=1 --train.init_seed=424242 --run.out=secret
expect_all_ranks_succeeded
finish_case "a victim with a secret initialisation seed"
secret=$case_dir/secret/mlp-mixnn.h5

new_case
run_tessera "${SURROGATE[@]}" --model.checkpoint="$secret" --attack.drop_rate=0.5 --run.out=original
expect_all_ranks_succeeded
copy_data
"$PYTHON" - "$secret" "$case_dir/original/attack-mlp-mixnn.h5" "$case_dir/replaced.h5" "$case_dir/data" <<'REPLACE' ||
import gzip, shutil, struct, sys
import h5py, numpy as np
victim, attack, replaced, data = sys.argv[1:5]
shutil.copy(victim, replaced)
rng = np.random.default_rng(7)
with h5py.File(attack, "r") as f:
    g = f["attack/surrogate"]
    held = set(int(p) for p in g["truth"][:])
    bh, bw = int(g.attrs["bh"]), int(g.attrs["bw"])
with h5py.File(replaced, "r+") as f:
    w = f["model/layers.2.weight"]
    weight = w[...]
    cols = weight.shape[1] // bw
    for p in range(weight.size // (bh * bw)):
        if p not in held:
            r, c = divmod(p, cols)
            weight[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw] = rng.normal(0, 0.1, (bh, bw))
    w[...] = weight
n = 10000  # the test split: noise images with random labels
with gzip.open(f"{data}/t10k-images-idx3-ubyte.gz", "wb") as out:
    out.write(struct.pack(">IIII", 0x803, n, 28, 28) + rng.integers(0, 256, n * 784, dtype=np.uint8).tobytes())
with gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz", "wb") as out:
    out.write(struct.pack(">II", 0x801, n) + rng.integers(0, 10, n, dtype=np.uint8).tobytes())
REPLACE
  reasons+=("could not write the replaced victim and test split")
run_tessera "${SURROGATE[@]}" --model.checkpoint="$case_dir/replaced.h5" --data.dir="$case_dir/data" \
  --attack.drop_rate=0.5 --run.out=replaced
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir"/{original,replaced}/attack-mlp-mixnn.h5 2>&1 <<'CHECK'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["attack/surrogate"] for p in sys.argv[1:3])
if not np.array_equal(a["truth"][:], b["truth"][:]): print("PROBLEM the held sets differ"); sys.exit(1)
if not np.array_equal(a["best_genome"][-1], b["best_genome"][-1]):
    print("PROBLEM the placement changed with the unheld blocks or the test split"); sys.exit(1)
if a["best_fitness"][-1] == b["best_fitness"][-1]: print("PROBLEM the eval images' scores did not change"); sys.exit(1)
rec = a["position_recovery"][-1]
if not rec >= 0.9: print("PROBLEM position recovery", rec, "on the secret-seed victim"); sys.exit(1)
for g in (a, b):  # a secret initialisation cannot be regenerated: the template is not judged
    if not (np.isnan(g.attrs["template_ceiling"]) and np.isnan(g.attrs["template_correlation"])):
        print("PROBLEM a template judged against a secret initialisation"); sys.exit(1)
print(f"the same placement (recovery {rec:.3f}); fitness {a['best_fitness'][-1]:.3f} -> {b['best_fitness'][-1]:.3f}")
CHECK
) || reasons+=("results: $(echo $out)")
echo "     $out"
finish_case "surrogate: reads only the held blocks, never the victim's seed or a test image"

# --- SIGTERM during the surrogate's training: a checkpoint at generation 0; the resume
# trains the interrupted round again and places every block as an uninterrupted run does
new_case
mkdir -p "$case_dir/bin"
cp "$TESSERA" "$case_dir/bin/tessera"  # a private copy, so that the signal reaches this run's ranks only
# 4x4 blocks: a placement far from the truth (recovery about 0.1) that any change of the
# template moves, so that equal placements mean the training resumed exactly
long=(attack --attack.method=surrogate --blocks.layers=layers.2 --blocks.bh=4 --blocks.bw=4 --attack.drop_rate=0
      --model.checkpoint="$MLP" --adversary.public=60000 --train.epochs=50 --surrogate.count=2 --run.threads=1)
run_tessera "${long[@]}" --run.out=whole
expect_all_ranks_succeeded
(cd "$case_dir" && limited "$MPIEXEC" -n "$RANKS" --oversubscribe "$case_dir/bin/tessera" "${long[@]}" \
   --run.out=killed) >"$case_dir.killed.log" 2>&1 &
runner=$!
waited=0
until grep -q "attack: surrogate: 2 surrogate" "$case_dir.killed.log" || ((waited++ > 600)); do sleep 0.1; done
sleep 1  # the training takes about 8 s here
pkill -TERM -f "^$case_dir/bin/tessera attack"
wait "$runner"
killed_rc=$?
[[ $killed_rc -eq 0 ]] || reasons+=("the signalled run exited $killed_rc, expected 0")
grep -q "surrogate: training stopped by SIGTERM after" "$case_dir.killed.log" ||
  reasons+=("no 'training stopped by SIGTERM' line (did the training end before the signal?)")
grep -q "stopped by SIGTERM at generation 0" "$case_dir.killed.log" || reasons+=("no 'stopped by SIGTERM' line")
[[ -f $case_dir/killed/attack-mlp-mixnn.checkpoint.h5 && ! -e $case_dir/killed/attack-mlp-mixnn.h5 ]] ||
  reasons+=("no checkpoint, or a result file")
run_tessera "${long[@]}" --run.out=killed --run.resume=true
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir"/{whole,killed}/attack-mlp-mixnn.h5 2>&1 <<'CHECK'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["attack/surrogate"] for p in sys.argv[1:3])
reason = b.attrs["stop_reason"]
if (reason.decode() if isinstance(reason, bytes) else reason) != "search finished": print("PROBLEM", reason); sys.exit(1)
if not np.array_equal(a["best_genome"][-1], b["best_genome"][-1]):
    print("PROBLEM the resumed placement differs from the uninterrupted run's"); sys.exit(1)
print(f"resumed: the uninterrupted run's placement (recovery {b['position_recovery'][-1]:.3f})")
CHECK
) || reasons+=("results: $(echo $out)")
echo "     $out"
finish_case "surrogate: SIGTERM during its training writes a checkpoint; the resume ends as an uninterrupted run"

# --- bad settings: one line, every rank fails, no output
new_case
bad_case "no public image" --adversary.public "at least 1" -- \
  "${SURROGATE[@]}" --model.checkpoint="$MLP" --adversary.public=0 --run.out=out
new_case
bad_case "more public images than the training split" --adversary.public 70000 60000 -- \
  "${SURROGATE[@]}" --model.checkpoint="$MLP" --adversary.public=70000 --run.out=out
new_case
bad_case "no training epoch" --train.epochs ">= 1" -- \
  "${BASE[@]}" --model.checkpoint="$MLP" --train.epochs=0 --run.out=out
new_case
bad_case "no surrogate" --surrogate.count "at least 1" -- \
  "${BASE[@]}" --model.checkpoint="$MLP" --surrogate.count=0 --run.out=out
new_case
bad_case "an initialisation seed below -1" --surrogate.init_seed "seed >= 0" -- \
  "${BASE[@]}" --model.checkpoint="$MLP" --surrogate.init_seed=-2 --run.out=out
new_case
bad_case "a cut layer whose neighbours are unknown (knowledge none)" --attack.method=surrogate "knowledge" -- \
  attack --attack.method=surrogate --model.checkpoint="$MLP" --attack.knowledge=none --blocks.layers=layers.0,layers.2 \
  --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
