#!/usr/bin/env bash
# End-to-end tests of `tessera attack`'s checkpoints: every kind of search, the
# learning ones on 1 and 3 attack ranks, stopped by SIGTERM and resumed gives the
# history of an uninterrupted run; corrupt or damaged checkpoints are refused, named
# and kept.
#
# usage: attack_resume.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

# --- a small MLP (784-128-64-10, one epoch); its layers.2 (64x128) is the target
make_small_mlp

# --- SIGTERM mid-run, the folder moved, then --run.resume=true: the same history as an
# uninterrupted run.
# signal_and_resume METHOD ARGS...: the run's group is /attack/METHOD.
signal_and_resume() {
  local method=$1
  shift
  new_case
  mkdir -p "$case_dir/bin"
  cp "$TESSERA" "$case_dir/bin/tessera"  # a private copy, so that the signal reaches this run's ranks only
  local args=(attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --attack.eval_images=3000
              --attack.method="$method" --run.checkpoint_seconds=0.5 --run.threads=1 "$@")
  # --run.resume=true with no checkpoint yet starts afresh (a requeued job's first run)
  run_tessera "${args[@]}" --run.out=whole --run.resume=true
  expect_all_ranks_succeeded
  (cd "$case_dir" && limited "$MPIEXEC" -n "$RANKS" --oversubscribe "$case_dir/bin/tessera" "${args[@]}" \
     --run.out=killed) >"$case_dir.killed.log" 2>&1 &
  local runner=$!
  local checkpoint=$case_dir/killed/attack-mlp-mixnn.checkpoint.h5
  local waited=0
  until [[ -f $checkpoint ]] || ((waited++ > 600)); do sleep 0.1; done
  # The checkpoint is renamed into place when complete: the signal lands right after it,
  # well before the end on any CPU.
  pkill -TERM -f "^$case_dir/bin/tessera attack"
  wait "$runner"
  local killed_rc=$?
  [[ $killed_rc -eq 0 ]] || reasons+=("the signalled run exited $killed_rc, expected 0")
  grep -q 'stopped by SIGTERM at generation' "$case_dir.killed.log" || reasons+=("no 'stopped by SIGTERM' line")
  [[ -f $checkpoint && ! -e $case_dir/killed/attack-mlp-mixnn.h5 ]] || reasons+=("no checkpoint, or a result file")
  local stopped_at
  stopped_at=$(sed -n 's/.*stopped by SIGTERM at generation \([0-9]*\).*/\1/p' "$case_dir.killed.log")
  cp "$checkpoint" "$FIXTURES/$method.checkpoint.h5" 2>/dev/null  # for the damaged-checkpoint cases below
  [[ $method != ga ]] || ga_args=("${args[@]}")
  [[ $method != sinkhorn || $RANKS != 2 ]] || sinkhorn_args=("${args[@]}")
  # The stopped run's folder moves before it resumes: a checkpoint travels with its folder.
  mv "$case_dir/killed" "$case_dir/moved"
  run_tessera "${args[@]}" --run.out=moved --run.resume=true
  expect_all_ranks_succeeded
  [[ ! -e $case_dir/moved/attack-mlp-mixnn.checkpoint.h5 ]] ||
    reasons+=("the checkpoint was not removed after the run completed")
  local out
  # The clocks and counts of work differ: the resumed file counts the part after the resume;
  # its provenance names its own folder and time.
  out=$("$PYTHON" "$SAME_H5" "$case_dir/whole/attack-mlp-mixnn.h5:attack/$method" \
        "$case_dir/moved/attack-mlp-mixnn.h5:attack/$method" \
        --ignore wall_seconds seconds evaluations evaluations_computed floor_seconds config created_utc 2>&1) ||
    reasons+=("results: $(echo $out)")
  echo "     stopped at generation $stopped_at; $out"
  finish_case "$method: SIGTERM mid-run, resume in a moved folder: history and best genome equal an uninterrupted run's"
}
signal_and_resume ga --blocks.bh=16 --blocks.bw=32 --attack.drop_rate=0 --attack.generations=400 --ga.population=50
# An 8x8 grid, half held: the descent restarts from kicks many times in 2000 generations.
signal_and_resume assignment --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 --attack.generations=2000
# A chain resumes in its last method (the earlier ones are done before the first checkpoint).
signal_and_resume stats,assignment,sa --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 \
  --attack.generations=1000 --sa.moves=20

# A learning search: its logits and Adam's moments travel in the checkpoint; 3 attack
# ranks, each with its own state.
RANKS=4 signal_and_resume sinkhorn --attack.ranks=3 --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 \
  --attack.generations=2000 --sinkhorn.steps=400
# The same on 1 attack rank.
signal_and_resume sinkhorn --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 --attack.generations=2000 \
  --sinkhorn.steps=400
# The policy's weights and Adam's moments, on 1 and on 3 attack ranks (one policy).
# The signal lands after the first checkpoint, about generation 10: a tenth of the run or less.
signal_and_resume rl --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 --attack.generations=200
RANKS=4 signal_and_resume rl --attack.ranks=3 --blocks.bh=8 --blocks.bw=16 --attack.drop_rate=0.5 \
  --attack.generations=150

# --- a fresh run into the folder of a stopped one is refused: the checkpoint is kept
if [[ -f $FIXTURES/ga.checkpoint.h5 ]]; then
  new_case
  mkdir -p "$case_dir/out"
  cp "$FIXTURES/ga.checkpoint.h5" "$case_dir/out/attack-mlp-mixnn.checkpoint.h5"
  run_tessera "${ga_args[@]}" --run.out=out
  expect_all_ranks_failed
  expect_one_message attack-mlp-mixnn.checkpoint.h5 "stopped attack run" --run.resume=true
  cmp -s "$case_dir/out/attack-mlp-mixnn.checkpoint.h5" "$FIXTURES/ga.checkpoint.h5" ||
    reasons+=("the checkpoint was changed or removed")
  [[ -z $(find "$case_dir/out" -name 'attack-mlp-mixnn.h5*') ]] || reasons+=("an output file was left")
  finish_case "a fresh run into a stopped run's folder: refused, the checkpoint kept"
fi

# --- a corrupt checkpoint is reported and left as it was
new_case
mkdir -p "$case_dir/out"
head -c 4096 /dev/urandom >"$case_dir/out/attack-mlp-mixnn.checkpoint.h5"
cp "$case_dir/out/attack-mlp-mixnn.checkpoint.h5" "$case_dir/corrupt.copy"
run_tessera attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=32 \
  --run.resume=true --run.out=out
expect_all_ranks_failed
expect_one_message --run.resume "cannot continue from" attack-mlp-mixnn.checkpoint.h5
cmp -s "$case_dir/out/attack-mlp-mixnn.checkpoint.h5" "$case_dir/corrupt.copy" || reasons+=("the checkpoint was changed")
[[ -z $(find "$case_dir/out" -name 'attack-mlp-mixnn.h5*') ]] || reasons+=("an output file was left")
finish_case "corrupt checkpoint: clear line, every rank fails, the file is kept"

# --- a damaged checkpoint is refused before any of it is used, naming the file, and kept
# damaged_checkpoint NAME CHANGE [METHOD]: METHOD's checkpoint from its SIGTERM case (default ga).
damaged_checkpoint() {
  local name=$1 change=$2 method=${3:-ga}
  new_case
  mkdir -p "$case_dir/out"
  cp "$FIXTURES/$method.checkpoint.h5" "$case_dir/out/attack-mlp-mixnn.checkpoint.h5"
  "$PYTHON" - "$case_dir/out/attack-mlp-mixnn.checkpoint.h5" "$change" >"$case_dir.prep" 2>&1 <<'DAMAGE' ||
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    c = f["checkpoint"]
    N = c.attrs["positions"]
    change = sys.argv[2]
    if change == "out-of-range": c["members"][0] = 10**6
    elif change == "repeated": c["members"][1] = c["members"][0]
    elif change == "nan-score": c["member_fitness"][0] = np.nan
    elif change == "best-genome": c["best_genome"][1] = c["best_genome"][0]
    elif change == "short-history": del c["best_fitness"]; c["best_fitness"] = np.zeros(1)
    elif change == "nan-state": c["search_state"][5] = np.nan
    elif change == "state-sizes": c["search_state_sizes"][0] += 1
DAMAGE
    reasons+=("could not damage the checkpoint: $(cat "$case_dir.prep")")
  cp "$case_dir/out/attack-mlp-mixnn.checkpoint.h5" "$case_dir/damaged.copy"
  if [[ $method == ga ]]; then
    run_tessera "${ga_args[@]}" --run.resume=true --run.out=out
  else
    run_tessera "${sinkhorn_args[@]}" --run.resume=true --run.out=out
  fi
  expect_all_ranks_failed
  expect_one_message --run.resume attack-mlp-mixnn.checkpoint.h5 "not a complete tessera checkpoint"
  cmp -s "$case_dir/out/attack-mlp-mixnn.checkpoint.h5" "$case_dir/damaged.copy" || reasons+=("the checkpoint was changed")
  [[ -z $(find "$case_dir/out" -name 'attack-mlp-mixnn.h5*') ]] || reasons+=("an output file was left")
  finish_case "$name"
}
if [[ -f $FIXTURES/ga.checkpoint.h5 && -f $FIXTURES/sinkhorn.checkpoint.h5 ]]; then
  damaged_checkpoint "checkpoint member with a position out of range" out-of-range
  damaged_checkpoint "checkpoint member that is not a permutation" repeated
  damaged_checkpoint "checkpoint member with a NaN score" nan-score
  damaged_checkpoint "checkpoint best genome with a repeated position" best-genome
  damaged_checkpoint "checkpoint history cut short" short-history
  damaged_checkpoint "checkpoint search state with a NaN" nan-state sinkhorn
  damaged_checkpoint "checkpoint search state lengths that do not add up" state-sizes sinkhorn
else
  new_case
  reasons+=("no checkpoint was kept from the SIGTERM case")
  finish_case "damaged checkpoints"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
