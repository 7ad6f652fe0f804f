#!/usr/bin/env bash
# jobs/gpu-check.sh where there is no GPU: refused with one line, and its Fashion-MNIST
# subset (jobs/gpu_deps.py data) is read by tessera as the split it claims to be.
#
# usage: gpu_check.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
REPO=$(realpath "$(dirname "$0")/../..")

# One line on standard error, non-zero exit, nothing left behind.
refused() {
  local name=$1 word=$2
  shift 2
  new_case
  log=$case_dir.log
  (cd "$case_dir" && bash "$REPO/jobs/gpu-check.sh" "$@" --out "$case_dir/out") > "$case_dir.out" 2> "$log"
  local rc=$?
  status=$rc
  ((rc != 0)) || reasons+=("exit code 0")
  [[ $(wc -l < "$log") -eq 1 ]] || reasons+=("$(wc -l < "$log") lines on standard error, expected 1")
  grep -q -- "$word" "$log" || reasons+=("the message does not say '$word'")
  [[ ! -e $case_dir/out ]] || reasons+=("the output folder was made")
  finish_case "$name"
}

if command -v nvidia-smi > /dev/null && nvidia-smi -L 2> /dev/null | grep -q GPU; then
  echo "SKIP the refusal: this machine has a GPU"
else
  refused "no GPU: refused" "no GPU visible"
fi
refused "an unknown argument" "unknown argument '--bogus'" --bogus

# The subset: 1000 training images, the whole test split, read back by a training run.
new_case
"$PYTHON" "$REPO/jobs/gpu_deps.py" data "$DATA" "$case_dir/data" 1000 > "$case_dir.prep" 2>&1 ||
  reasons+=("gpu_deps.py data failed: $(cat "$case_dir.prep")")
run_tessera train --model.arch=mlp-mixnn --train.epochs=1 --data.dir="$case_dir/data" --run.out=out
expect_all_ranks_succeeded
grep -q "1000 training, 10000 test images" "$log" || reasons+=("tessera did not read 1000 training and 10000 test images")
[[ -f $case_dir/out/mlp-mixnn.h5 ]] || reasons+=("no model file")
finish_case "the Fashion-MNIST subset: 1000 training images, 10000 test images"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
