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
  --drop.rates=0,0.5:1:0.25 --attack.repeats=2 --attack.eval_images=500
same_on_any_ranks "swap: same numbers on 1, 2, 3 ranks; Fig. 7" swap \
  --swap.rates=0.8,0.9,0.95 --swap.pairs=0:20:10 --attack.repeats=2 --attack.eval_images=500

# --- a stopped sweep keeps its finished points and resumes to the uninterrupted file
# Waits (at most 60 s) until file $1 exists.
wait_for_file() {
  local waited=0
  until [[ -f $1 ]] || ((waited++ > 600)); do sleep 0.1; done
  [[ -f $1 ]]
}
new_case
base=$case_dir
mkdir -p "$base/bin" "$base/whole" "$base/all" "$base/one"
cp "$TESSERA" "$base/bin/tessera"  # a private copy, so that signals reach this run's ranks only
# Every run in its own folder with the same relative --run.out, so that the stored
# configurations match too.
resume_args=(swap --model.checkpoint="$MODEL" --blocks.bh=16 --blocks.bw=16 --swap.rates=0.5:0.98:0.02
             --swap.pairs=0:40:10 --attack.repeats=2 --attack.eval_images=300 --run.threads=1 --run.resume=true
             --run.checkpoint_seconds=0 --run.out=out)
case_dir=$base/whole
run_tessera "${resume_args[@]}"
expect_all_ranks_succeeded
for signalled in all one; do
  case_dir=$base/$signalled
  (cd "$case_dir" && limited "$MPIEXEC" -n 2 --oversubscribe \
     sh -c '"$0" "$@"; echo $? > "'"$case_dir"'/rc.$OMPI_COMM_WORLD_RANK"' "$base/bin/tessera" "${resume_args[@]}") \
    >"$case_dir.stopped.log" 2>&1 &
  runner=$!
  wait_for_file "$case_dir/out/swap-vgg-mini.checkpoint.h5" || reasons+=("$signalled: no checkpoint appeared")
  if [[ $signalled == all ]]; then
    pkill -TERM -f "^$base/bin/tessera swap"
  else  # one rank only: the other must stop with it, not hang
    kill -TERM "$(pgrep -f "^$base/bin/tessera swap" | head -n 1)"
  fi
  wait "$runner"
  [[ $(cat "$case_dir"/rc.0 "$case_dir"/rc.1 2>/dev/null | tr '\n' ' ') == "3 3 " ]] ||
    reasons+=("$signalled: the ranks' exit codes are '$(cat "$case_dir"/rc.* 2>/dev/null | tr '\n' ' ')', expected 3 3")
  rm -f "$case_dir"/rc.*
  grep -q "stopped: SIGTERM received after .* finished points kept in" "$case_dir.stopped.log" ||
    reasons+=("$signalled: no 'stopped ... finished points kept' line")
  [[ ! -e $case_dir/out/swap-vgg-mini.h5 && -z $(find "$case_dir/out" -name '*.partial') ]] ||
    reasons+=("$signalled: a result or partial file after the stop")
  run_tessera "${resume_args[@]}"
  expect_all_ranks_succeeded
  grep -q "continuing from" "$log" || reasons+=("$signalled: the resumed run did not continue from the checkpoint")
  [[ ! -e $case_dir/out/swap-vgg-mini.checkpoint.h5 ]] || reasons+=("$signalled: the checkpoint was not removed at the end")
  out=$("$PYTHON" "$SAME_H5" "$base/whole/out/swap-vgg-mini.h5" "$case_dir/out/swap-vgg-mini.h5" --ignore created_utc 2>&1) ||
    reasons+=("$signalled: $out")
  echo "     signal to $signalled: $(grep -o 'after [0-9]* of [0-9]* units' "$case_dir.stopped.log"); $out"
done
case_dir=$base
finish_case "SIGTERM to every rank, and to one rank: the sweep stops, keeps its points, resumes to the same file"

new_case
mkdir -p "$case_dir/out"
head -c 4096 /dev/urandom >"$case_dir/out/drop-vgg-mini.checkpoint.h5"
cp "$case_dir/out/drop-vgg-mini.checkpoint.h5" "$case_dir/corrupt.copy"
run_tessera drop --model.checkpoint="$MODEL" --run.resume=true --run.out=out
expect_all_ranks_failed
expect_one_message --run.resume "cannot continue from" drop-vgg-mini.checkpoint.h5
cmp -s "$case_dir/out/drop-vgg-mini.checkpoint.h5" "$case_dir/corrupt.copy" || reasons+=("the checkpoint was changed")
[[ -z $(find "$case_dir/out" -name 'drop-vgg-mini.h5*') ]] || reasons+=("an output file was left")
finish_case "corrupt sweep checkpoint: clear line, every rank fails, the file is kept"
new_case
mkdir -p "$case_dir/out"
head -c 100 /dev/zero >"$case_dir/out/drop-vgg-mini.checkpoint.h5"
run_tessera drop --model.checkpoint="$MODEL" --run.out=out
expect_all_ranks_failed
expect_one_message drop-vgg-mini.checkpoint.h5 "--run.resume=true"
[[ -s $case_dir/out/drop-vgg-mini.checkpoint.h5 ]] || reasons+=("the checkpoint was removed")
finish_case "a checkpoint left by a stopped sweep is not overwritten by a fresh run"

# --- bad input
new_case
bad_case "drop rate outside [0, 1]" --drop.rates 1.2 -- \
  drop --model.checkpoint="$MODEL" --drop.rates=0.5,1.2 --run.out=out
new_case
bad_case "more pairs than the held blocks allow" --swap.pairs "fewer than 2 held blocks" -- \
  swap --model.checkpoint="$MODEL" --swap.rates=0.9,1.0 --swap.pairs=0,5 --run.out=out
new_case
bad_case "eval set larger than the test set" --attack.eval_images 20000 -- \
  drop --model.checkpoint="$MODEL" --attack.eval_images=20000 --run.out=out
new_case
bad_case "missing model file" nowhere.h5 -- drop --model.checkpoint=nowhere.h5 --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
