#!/usr/bin/env bash
# End-to-end tests of `tessera drop` and `tessera swap`: the same numbers on 1, 2
# and 3 ranks, figures drawn from the files, and bad input failing cleanly.
#
# usage: sweeps.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
ANALYSIS=$(realpath "$(dirname "$0")/../../analysis")

# --- a small vgg-mini model file (1 epoch on 2048 images)
make_small_vgg_mini 2048

# Runs a sweep on 1, 2 and 3 ranks (one thread each) and checks the results are identical.
same_on_any_ranks() {
  local name=$1 command=$2
  shift 2
  local files=() ranks
  new_case
  for ranks in 1 2 3; do
    RANKS=$ranks run_tessera "$command" --model.checkpoint="$MODEL" --run.threads=1 --run.out="out$ranks" "$@"
    expect_all_ranks_succeeded
    files+=("$case_dir/out$ranks/$command-vgg-mini.h5")
  done
  local out
  out=$("$PYTHON" - "$command" "${files[@]}" 2>&1 <<'EOF'
import sys, h5py, numpy as np
group, paths = sys.argv[1], sys.argv[2:]
runs = [h5py.File(p, "r")[group] for p in paths]
for key in ("accuracy", "loss", "fidelity", "held_fraction"):
    for other, path in zip(runs[1:], paths[1:]):
        if not np.array_equal(runs[0][key][:], other[key][:]):
            print("PROBLEM", key, "differs in", path); sys.exit(1)
acc = runs[0]["accuracy"][:]
print("shape", acc.shape, "mean accuracy per rate", np.round(acc.reshape(acc.shape[0], -1).mean(axis=1), 4).tolist())
victim = runs[0].attrs["victim_accuracy"]
if group == "drop":
    if not abs(acc[0].mean() - victim) < 0.2 and runs[0]["rates"][0] == 0: print("PROBLEM rate 0 is not the victim"); sys.exit(1)
    if not acc[-1].max() <= 0.2: print("PROBLEM nothing held, yet accuracy", acc[-1].max()); sys.exit(1)
EOF
  ) || reasons+=("results: $(echo $out)")
  echo "     $out"
  if [[ $command == drop ]]; then
    "$PYTHON" "$ANALYSIS/plot_drop.py" "${files[0]}" --out "$case_dir/fig6.png" >/dev/null 2>&1 ||
      reasons+=("plot_drop.py failed")
    [[ -s $case_dir/fig6.png ]] || reasons+=("no Fig. 6 PNG")
  else
    "$PYTHON" "$ANALYSIS/plot_swap.py" "${files[0]}" --out "$case_dir/fig7.png" >/dev/null 2>&1 ||
      reasons+=("plot_swap.py failed")
    [[ -s $case_dir/fig7.png ]] || reasons+=("no Fig. 7 PNG")
  fi
  finish_case "$name"
}

same_on_any_ranks "drop: same numbers on 1, 2, 3 ranks; Fig. 6" drop \
  --drop.rates=0,0.5:1:0.25 --attack.repeats=2 --attack.eval_samples=500
same_on_any_ranks "swap: same numbers on 1, 2, 3 ranks; Fig. 7" swap \
  --swap.rates=0.8,0.9,0.95 --swap.pairs=0:20:10 --attack.repeats=2 --attack.eval_samples=500

# --- bad input
new_case
bad_case "drop rate outside [0, 1]" --drop.rates 1.2 -- \
  drop --model.checkpoint="$MODEL" --drop.rates=0.5,1.2 --run.out=out
new_case
bad_case "more pairs than the held blocks allow" --swap.pairs "fewer than 2 held blocks" -- \
  swap --model.checkpoint="$MODEL" --swap.rates=0.9,1.0 --swap.pairs=0,5 --run.out=out
new_case
bad_case "eval set larger than the test set" --attack.eval_samples 20000 -- \
  drop --model.checkpoint="$MODEL" --attack.eval_samples=20000 --run.out=out
new_case
bad_case "missing model file" nowhere.h5 -- drop --model.checkpoint=nowhere.h5 --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
