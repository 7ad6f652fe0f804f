#!/usr/bin/env bash
# The scripts of analysis/ on bad input: real files made by tessera with small settings,
# each script draws them; then a truncated copy, a copy with one dataset it reads
# rewritten in a wrong shape, and an output it cannot write each end in one line on
# standard error naming the file (and the dataset), a non-zero exit, no traceback and
# no output file. Also: NaN accuracies (plot_mixnn.py), a search of 0 generations
# (plot_attack.py), and outputs written together (a figure and its table) that are
# both left out when the second cannot be written. The scripts' cases run in two
# halves at once (one per core).
#
# usage: analysis_errors.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
ANALYSIS=$(realpath "$(dirname "$0")/../../analysis")
BLOCKER=$FIXTURES/file  # a regular file: no output can be written under it
touch "$BLOCKER"

# The lines the message checks read: tessera's, and the scripts' ("plot_x.py: ...").
tessera_lines() { grep -E '^(tessera|[a-z_]+\.py)' "$log"; }

# Runs analysis/SCRIPT with the arguments in $case_dir: standard error in $log,
# standard output in $case_dir.out, the exit code in $status.
run_script() {
  local script=$1
  shift
  log=$case_dir.err
  (cd "$case_dir" && limited "$PYTHON" "$ANALYSIS/$script" "$@") >"$case_dir.out" 2>"$log"
  status=$?
}

# good_script NAME OUTPUT... -- SCRIPT ARGS...: in the case folder (new_case): exit 0,
# every OUTPUT (in $case_dir) written and not empty, nothing on standard error, no
# .partial left.
good_script() {
  local name=$1 outputs=() output
  shift
  while [[ $1 != "--" ]]; do
    outputs+=("$1")
    shift
  done
  shift
  run_script "$@"
  [[ $status -eq 0 ]] || reasons+=("exit code $status")
  for output in "${outputs[@]}"; do
    [[ -s $case_dir/$output ]] || reasons+=("no $output")
  done
  [[ ! -s $log ]] || reasons+=("standard error: $(head -n 3 "$log")")
  [[ -z $(find "$case_dir" -name '*.partial') ]] || reasons+=("a .partial file was left")
  finish_case "$name"
}

# bad_script NAME WORD... -- SCRIPT ARGS...: in the case folder (new_case, with what
# the caller put there): a non-zero exit, exactly one line on standard error holding
# every WORD, no traceback, and no file added to $case_dir.
bad_script() {
  local name=$1 words=() word
  shift
  while [[ $1 != "--" ]]; do
    words+=("$1")
    shift
  done
  shift
  local before left
  before=$(find "$case_dir" ! -type d | sort)
  run_script "$@"
  [[ $status -ne 0 ]] || reasons+=("exit code 0")
  [[ $(wc -l <"$log") -eq 1 ]] || reasons+=("$(wc -l <"$log") lines on standard error, expected 1")
  for word in "${words[@]}"; do
    grep -qF -- "$word" "$log" || reasons+=("the line does not say '$word'")
  done
  ! grep -q Traceback "$log" "$case_dir.out" || reasons+=("a traceback")
  left=$(comm -13 <(echo "$before") <(find "$case_dir" ! -type d | sort))
  [[ -z $left ]] || reasons+=("files left behind: $(echo $left)")
  finish_case "$name"
}

# damage KIND FILE DATASET: a copy of FILE in $case_dir, printed; KIND truncated (its
# first 3000 bytes), 2d (DATASET gets a second axis), longer (DATASET one value
# longer), nan (the first value of DATASET is NaN).
damage() {
  local kind=$1 file=$2 dataset=${3:-}
  local copy=$case_dir/$kind-$(basename "$file")
  if [[ $kind == truncated ]]; then
    head -c 3000 "$file" >"$copy"
  else
    cp "$file" "$copy"
    "$PYTHON" - "$copy" "$dataset" "$kind" <<'PY' || echo "FAIL could not damage $file" >&2
import sys, h5py, numpy as np
path, name, kind = sys.argv[1:]
with h5py.File(path, "r+") as f:
    data = f[name][()]
    if kind == "2d": data = np.stack([data, data], axis=-1)
    elif kind == "longer": data = np.concatenate([data, data[-1:]])
    elif kind == "nan": data = data.astype(float); data[0] = np.nan
    del f[name]
    f.create_dataset(name, data=data)
PY
  fi
  echo "$copy"
}

# --- the inputs, made by tessera (small settings, a few seconds each)
make_small_mlp
ATTACK=(attack --model.checkpoint="$MLP" --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=32
        --attack.eval_images=500 --run.threads=1 --run.out="$FIXTURES/attack")
new_case
run_tessera "${ATTACK[@]}" --attack.method=ga --ga.population=10 --attack.generations=3 --run.name=ga
expect_all_ranks_succeeded
run_tessera "${ATTACK[@]}" --attack.method=sa --attack.generations=0 --run.name=sa0
expect_all_ranks_succeeded
RANKS=1 run_tessera threshold --threshold.from="$FIXTURES/attack/ga.h5,$FIXTURES/attack/sa0.h5" \
  --run.out="$FIXTURES/threshold"
expect_all_ranks_succeeded
GA=$FIXTURES/attack/ga.h5
SA0=$FIXTURES/attack/sa0.h5
FORMULA=$FIXTURES/threshold/threshold.txt
finish_case "attack files (a GA of 3 generations, annealing of 0 generations) and their threshold report"

new_case
run_tessera drop --model.checkpoint="$MLP" --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=32 --drop.rates=0,0.5,1 \
  --attack.repeats=2 --attack.eval_images=500 --run.threads=1 --run.out="$FIXTURES/drop"
expect_all_ranks_succeeded
run_tessera swap --model.checkpoint="$MLP" --blocks.layers=layers.2 --blocks.bh=16 --blocks.bw=32 --swap.rates=0.5,0.9 \
  --swap.pairs=0:2:1 --attack.repeats=2 --attack.eval_images=500 --run.threads=1 --run.out="$FIXTURES/swap"
expect_all_ranks_succeeded
run_tessera finetune --model.checkpoint="$MLP" --blocks.layers=layers.0 --blocks.bh=16 --blocks.bw=16 \
  --adversary.public=1000 --finetune.evals=2 --train.epochs=1 --finetune.drop_rates=0.5 --run.threads=1 \
  --run.out="$FIXTURES/finetune"
expect_all_ranks_succeeded
DROP=$FIXTURES/drop/drop-mlp-mixnn.h5
SWAP=$FIXTURES/swap/swap-mlp-mixnn.h5
FINETUNE=$FIXTURES/finetune/finetune-mlp-mixnn.h5
finish_case "drop, swap and finetune files"

# MixNN on 4 ranks (the designer and a cascade of 3, no dummies), 10 steps; its packet
# trace through the eavesdropper and the provider's cover traffic.
new_case
RANKS=4 run_tessera mixnn --train.epochs=1 --data.train_limit=640 --data.test_limit=200 --run.threads=1 \
  --mixnn.min_timeout=1 --mixnn.dummies=0 --run.out="$FIXTURES/mixnn"
expect_all_ranks_succeeded
MIXNN=$FIXTURES/mixnn/mixnn.h5
run_tessera streams analyze --streams.trace="$MIXNN" --streams.method=depth --streams.view=timed --streams.step=5 \
  --run.out="$FIXTURES/streams"
expect_all_ranks_succeeded
run_tessera streams obfuscate --streams.trace="$MIXNN" --streams.step=5 --obfuscate.evaluations=10 \
  --run.out="$FIXTURES/obfuscate"
expect_all_ranks_succeeded
STREAMS=$FIXTURES/streams/streams.h5
FRONT=$FIXTURES/obfuscate/obfuscate.h5
finish_case "a MixNN file, its trace's division and cover traffic"

# --- the scripts' cases, in two halves: the model and attack files' scripts (and
# gpu_check.py), then the sweeps', fine-tunes', MixNN's and streams'.
searches_half() {
  # --- plot_training.py
  new_case
  good_script "plot_training.py draws a model file" fig.png -- plot_training.py "$MLP" --out fig.png
  new_case
  bad_script "plot_training.py: a truncated model file" plot_training.py: truncated-mlp-mixnn.h5 truncated -- \
    plot_training.py "$(damage truncated "$MLP")" --out fig.png
  new_case
  bad_script "plot_training.py: test accuracies of a wrong shape" 2d-mlp-mixnn.h5 /train/test_accuracy "has shape" -- \
    plot_training.py "$(damage 2d "$MLP" train/test_accuracy)" --out fig.png
  new_case
  bad_script "plot_training.py: an output under a file" file/fig.png "cannot write" -- \
    plot_training.py "$MLP" --out "$BLOCKER/fig.png"

  # --- plot_attack.py
  new_case
  good_script "plot_attack.py draws a search" fig.png -- plot_attack.py "$GA" --out fig.png
  new_case
  bad_script "plot_attack.py: a truncated attack file" plot_attack.py: truncated-ga.h5 truncated -- \
    plot_attack.py "$(damage truncated "$GA")" --out fig.png
  new_case
  bad_script "plot_attack.py: best fitness of a wrong shape" 2d-ga.h5 /attack/ga/best_fitness "has shape" -- \
    plot_attack.py "$(damage 2d "$GA" attack/ga/best_fitness)" --out fig.png
  new_case
  bad_script "plot_attack.py: a search of 0 generations" sa0.h5 /attack/sa "0 generations" -- \
    plot_attack.py "$GA" "$SA0" --out fig.png
  new_case
  bad_script "plot_attack.py: an output under a file" file/fig.png "cannot write" -- \
    plot_attack.py "$GA" --out "$BLOCKER/fig.png"
  new_case
  bad_script "plot_attack.py: a figure format matplotlib does not know" fig.xyz "no figure format 'xyz'" -- \
    plot_attack.py "$GA" --out fig.xyz

  # --- merge_runs.py (it copies datasets whatever their shape: no wrong-shape case)
  new_case
  good_script "merge_runs.py merges two attack files" merged.h5 -- merge_runs.py "$GA" "$SA0" --out merged.h5
  cp "$case_dir/merged.h5" "$FIXTURES/merged.h5"
  MERGED=$FIXTURES/merged.h5
  new_case
  bad_script "merge_runs.py: a truncated input" merge_runs.py: truncated-sa0.h5 truncated -- \
    merge_runs.py "$GA" "$(damage truncated "$SA0")" --out merged.h5
  new_case
  bad_script "merge_runs.py: an output under a file" file/merged.h5 "cannot write" -- \
    merge_runs.py "$GA" "$SA0" --out "$BLOCKER/merged.h5"
  new_case
  cp "$GA" "$case_dir/ga.h5"
  bad_script "merge_runs.py: the output is one of the inputs" ga.h5 "is one of the inputs" -- \
    merge_runs.py ga.h5 "$SA0" --out ./ga.h5

  # --- compare_attacks.py
  new_case
  good_script "compare_attacks.py draws and tables a merged file" fig.png table.md -- \
    compare_attacks.py "$MERGED" --out fig.png --table table.md
  new_case
  bad_script "compare_attacks.py: a truncated merged file" compare_attacks.py: truncated-merged.h5 truncated -- \
    compare_attacks.py "$(damage truncated "$MERGED")" --out fig.png
  new_case
  bad_script "compare_attacks.py: wall seconds one longer than the other series" longer-merged.h5 \
    /runs/ga/attack/ga/position_recovery "as /runs/ga/attack/ga/wall_seconds" -- \
    compare_attacks.py "$(damage longer "$MERGED" runs/ga/attack/ga/wall_seconds)" --out fig.png
  new_case
  bad_script "compare_attacks.py: an output under a file" file/fig.png "cannot write" -- \
    compare_attacks.py "$MERGED" --out "$BLOCKER/fig.png" --table table.md
  new_case
  mkdir "$case_dir/table.md"
  bad_script "compare_attacks.py: a table that is a folder: no figure either" table.md "cannot write" -- \
    compare_attacks.py "$MERGED" --out fig.png --table table.md

  # --- plot_threshold.py
  new_case
  good_script "plot_threshold.py draws and tables a merged file" fig.png table.md -- \
    plot_threshold.py "$MERGED" --formula "$FORMULA" --out fig.png --table table.md
  new_case
  bad_script "plot_threshold.py: a truncated merged file" plot_threshold.py: truncated-merged.h5 truncated -- \
    plot_threshold.py "$(damage truncated "$MERGED")" --out fig.png
  new_case
  bad_script "plot_threshold.py: position recovery of a wrong shape" 2d-merged.h5 \
    /runs/sa0/attack/sa/position_recovery "has shape" -- \
    plot_threshold.py "$(damage 2d "$MERGED" runs/sa0/attack/sa/position_recovery)" --out fig.png
  new_case
  bad_script "plot_threshold.py: a formula report that is an HDF5 file" plot_threshold.py: merged.h5 \
    "smallest infeasible N" -- plot_threshold.py "$MERGED" --formula "$MERGED" --out fig.png
  new_case
  bad_script "plot_threshold.py: an output under a file" file/fig.png "cannot write" -- \
    plot_threshold.py "$MERGED" --out "$BLOCKER/fig.png" --table table.md

  # --- gpu_check.py: a check's folder (steps.tsv, logs, output files) gathered in place
  # into gpu-check.h5 and summary.txt (no attack step: Debian's h5py crashes copying its
  # group, see merge_runs.py).
  # gpu_folder: a check's folder, $case_dir/check, with a training step, a benchmark and
  # a failed step.
  gpu_folder() {
    mkdir -p "$case_dir/check"
    cp "$MLP" "$case_dir/check/vgg-mini.h5"
    printf 'train\t0\t1.5\ttessera train\nbench-train-cpu\t0\t3\ttessera bench train\nserve-nccl-1rank\t1\t0.1\tx\n' \
      >"$case_dir/check/steps.tsv"
    printf 'tessera bench train: 3 repeats\n| step | seconds |\n|---|---|\n| forward | 0.1 |\n' \
      >"$case_dir/check/bench-train-cpu.log"
  }
  new_case
  gpu_folder
  good_script "gpu_check.py gathers a check's folder" check/gpu-check.h5 check/summary.txt -- \
    gpu_check.py check --build-seconds 12 --device cpu
  new_case
  gpu_folder
  head -c 3000 "$MLP" >"$case_dir/check/vgg-mini.h5"
  bad_script "gpu_check.py: a truncated step file" gpu_check.py: check/vgg-mini.h5 truncated -- gpu_check.py check
  new_case
  gpu_folder
  printf 'train\t0\n' >>"$case_dir/check/steps.tsv"
  bad_script "gpu_check.py: a step line of two fields" check/steps.tsv "step 4 is not" -- gpu_check.py check
  new_case
  gpu_folder
  mkdir "$case_dir/check/summary.txt"
  bad_script "gpu_check.py: a summary that is a folder: no record either" check/summary.txt "cannot write" -- \
    gpu_check.py check
}

sweeps_half() {
  # --- plot_drop.py, plot_swap.py
  new_case
  good_script "plot_drop.py draws a drop file" fig.png -- plot_drop.py "$DROP" --out fig.png
  new_case
  bad_script "plot_drop.py: a truncated drop file" plot_drop.py: truncated-drop-mlp-mixnn.h5 truncated -- \
    plot_drop.py "$(damage truncated "$DROP")" --out fig.png
  new_case
  bad_script "plot_drop.py: accuracies of a wrong shape" 2d-drop-mlp-mixnn.h5 /drop/accuracy "has shape" -- \
    plot_drop.py "$(damage 2d "$DROP" drop/accuracy)" --out fig.png
  new_case
  bad_script "plot_drop.py: an output under a file" file/fig.png "cannot write" -- \
    plot_drop.py "$DROP" --out "$BLOCKER/fig.png"

  new_case
  good_script "plot_swap.py draws a swap file" fig.png -- plot_swap.py "$SWAP" --out fig.png
  new_case
  bad_script "plot_swap.py: a truncated swap file" plot_swap.py: truncated-swap-mlp-mixnn.h5 truncated -- \
    plot_swap.py "$(damage truncated "$SWAP")" --out fig.png
  new_case
  bad_script "plot_swap.py: rates one longer than the accuracies" longer-swap-mlp-mixnn.h5 /swap/accuracy \
    "as /swap/rates" -- \
    plot_swap.py "$(damage longer "$SWAP" swap/rates)" --out fig.png
  new_case
  bad_script "plot_swap.py: an output under a file" file/fig.png "cannot write" -- \
    plot_swap.py "$SWAP" --out "$BLOCKER/fig.png"

  # --- plot_finetune.py, report.py
  new_case
  good_script "plot_finetune.py draws a finetune file" fig.png -- plot_finetune.py "$FINETUNE" -o fig.png
  new_case
  bad_script "plot_finetune.py: a truncated finetune file" plot_finetune.py: truncated-finetune-mlp-mixnn.h5 \
    truncated -- \
    plot_finetune.py "$(damage truncated "$FINETUNE")" -o fig.png
  new_case
  bad_script "plot_finetune.py: a cost table of a wrong shape" 2d-finetune-mlp-mixnn.h5 /finetune/drop-0.5/cost \
    "has shape" -- \
    plot_finetune.py "$(damage 2d "$FINETUNE" finetune/drop-0.5/cost)" -o fig.png
  new_case
  bad_script "plot_finetune.py: an output under a file" file/fig.png "cannot write" -- \
    plot_finetune.py "$FINETUNE" -o "$BLOCKER/fig.png"

  new_case
  good_script "report.py draws and tables a finetune file" report.png report.md -- report.py "$FINETUNE" --out report
  new_case
  bad_script "report.py: a truncated finetune file" report.py: truncated-finetune-mlp-mixnn.h5 truncated -- \
    report.py "$(damage truncated "$FINETUNE")" --out report
  new_case
  bad_script "report.py: a cost table of a wrong shape" 2d-finetune-mlp-mixnn.h5 /finetune/drop-0.5/cost \
    "has shape" -- \
    report.py "$(damage 2d "$FINETUNE" finetune/drop-0.5/cost)" --out report
  new_case
  bad_script "report.py: an output under a file" file/report.png "cannot write" -- \
    report.py "$FINETUNE" --out "$BLOCKER/report"
  new_case
  mkdir "$case_dir/report.md"
  bad_script "report.py: a table that is a folder: no figure either" report.md "cannot write" -- \
    report.py "$FINETUNE" --out report

  # --- plot_mixnn.py
  new_case
  good_script "plot_mixnn.py draws a MixNN file" fig.png -- plot_mixnn.py "$MIXNN" -o fig.png
  new_case
  bad_script "plot_mixnn.py: a truncated MixNN file" plot_mixnn.py: truncated-mixnn.h5 truncated -- \
    plot_mixnn.py "$(damage truncated "$MIXNN")" -o fig.png
  new_case
  bad_script "plot_mixnn.py: accuracies of a wrong shape" 2d-mixnn.h5 /mixnn/epochs/mixnn_accuracy "has shape" -- \
    plot_mixnn.py "$(damage 2d "$MIXNN" mixnn/epochs/mixnn_accuracy)" -o fig.png
  new_case
  bad_script "plot_mixnn.py: a NaN accuracy" nan-mixnn.h5 /mixnn/epochs/plain_accuracy "NaN at epoch 1" -- \
    plot_mixnn.py "$(damage nan "$MIXNN" mixnn/epochs/plain_accuracy)" -o fig.png
  new_case
  bad_script "plot_mixnn.py: an output under a file" file/fig.png "cannot write" -- \
    plot_mixnn.py "$MIXNN" -o "$BLOCKER/fig.png"

  # --- plot_streams.py: the division (its trace found beside the file) and the front
  new_case
  good_script "plot_streams.py draws a division" fig.png -- plot_streams.py "$STREAMS" --out fig.png
  new_case
  bad_script "plot_streams.py: a truncated streams file" plot_streams.py: truncated-streams.h5 truncated -- \
    plot_streams.py "$(damage truncated "$STREAMS")" --out fig.png
  new_case
  bad_script "plot_streams.py: groups one longer than the devices" longer-streams.h5 /streams/depth-timed/true_layer \
    "as /streams/depth-timed/group" -- \
    plot_streams.py "$(damage longer "$STREAMS" streams/depth-timed/group)" --out fig.png
  new_case
  bad_script "plot_streams.py: a truncated trace" plot_streams.py: truncated-mixnn.h5 truncated -- \
    plot_streams.py "$STREAMS" --trace "$(damage truncated "$MIXNN")" --out fig.png
  new_case
  bad_script "plot_streams.py: an output under a file" file/fig.png "cannot write" -- \
    plot_streams.py "$STREAMS" --out "$BLOCKER/fig.png"
  new_case
  good_script "plot_streams.py draws a cover-traffic front" fig.png -- plot_streams.py "$FRONT" --out fig.png
  new_case
  bad_script "plot_streams.py: a front with byte fractions of a wrong shape" 2d-obfuscate.h5 \
    /obfuscation/points/byte_fraction "has shape" -- \
    plot_streams.py "$(damage 2d "$FRONT" obfuscation/points/byte_fraction)" --out fig.png
}

# Both halves at once; each half's report and counts in $ROOT, printed in turn.
run_half() {
  (
    passed=0 failed=0
    "$1_half"
    echo "$passed $failed" >"$ROOT/$1.counts"
  ) >"$ROOT/$1.log" 2>&1
}
run_half searches &
run_half sweeps &
wait
for half in searches sweeps; do
  cat "$ROOT/$half.log"
  if read -r p f <"$ROOT/$half.counts"; then
    passed=$((passed + p)) failed=$((failed + f))
  else
    echo "FAIL the $half half ended without its counts"
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
