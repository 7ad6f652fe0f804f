# The harness shared by the end-to-end scripts: runs the tessera binary under
# mpiexec on RANKS ranks in fresh case folders, records every rank's exit code,
# and checks messages and leftovers. Sourced; expects TESSERA [MPIEXEC] in "$@".
set -u

if [[ $# -lt 1 ]]; then
  echo "usage: $0 TESSERA [MPIEXEC]" >&2
  exit 2
fi
TESSERA=$(realpath "$1")
MPIEXEC=${2:-mpiexec}
PYTHON=${TESSERA_PYTHON:-/usr/bin/python3}
SAME_H5=$(realpath "$(dirname "${BASH_SOURCE[0]}")/same_h5.py")  # compares two HDF5 files
DATA=/usr/share/datasets/fashion-mnist
RANKS=2
LIMIT_S=300

# Runs a command for at most LIMIT_S seconds. tessera ends cleanly between units of
# work on SIGTERM, so a rank stuck inside one would outlive it: SIGKILL follows, to
# the whole process group, 20 s later.
limited() { timeout -k 20 "$LIMIT_S" "$@"; }

if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bad-input-XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
FIXTURES=$ROOT/fixtures  # files shared by several cases (model files); never checked for leftovers
mkdir -p "$FIXTURES"

passed=0
case_started=$SECONDS
failed=0
case_dir=""   # the working folder of the current case
log=""        # its captured stdout+stderr
status=""     # "rc0 rc1" of the last run, "?" for a rank that recorded none
reasons=()    # why the current case failed

# A fresh working folder for a case.
new_case() {
  case_dir=$(mktemp -d "$ROOT/case-XXXXXX")
  reasons=()
  case_started=$SECONDS
}

# Runs tessera with the given arguments on RANKS ranks inside $case_dir, recording
# every rank's exit code; sets $log and $status.
run_tessera() {
  local rcdir
  rcdir=$(mktemp -d "$ROOT/rc-XXXXXX")
  log=$case_dir.log
  (cd "$case_dir" &&
     limited "$MPIEXEC" -n "$RANKS" --oversubscribe \
       sh -c '"$0" "$@"; echo $? > "'"$rcdir"'/rc.$OMPI_COMM_WORLD_RANK"' "$TESSERA" "$@") >"$log" 2>&1
  local mpiexec_rc=$?
  status=""
  local r
  for ((r = 0; r < RANKS; ++r)); do
    if [[ -s $rcdir/rc.$r ]]; then status+="$(cat "$rcdir/rc.$r") "; else status+="? "; fi
  done
  status=${status% }
  if [[ $mpiexec_rc -eq 124 || $mpiexec_rc -eq 137 ]]; then
    reasons+=("timed out after ${LIMIT_S}s (hang?)")
  fi
  rm -rf "$rcdir"
}

# The lines of the output that tessera printed.
tessera_lines() { grep '^tessera' "$log"; }

expect_all_ranks_failed() {
  local rc
  for rc in $status; do
    if [[ $rc == "?" ]]; then
      reasons+=("a rank recorded no exit code (exit codes: $status)")
      return
    fi
    if [[ $rc -eq 0 ]]; then
      reasons+=("a rank exited 0 (exit codes: $status)")
      return
    fi
  done
}

expect_all_ranks_succeeded() {
  local rc
  for rc in $status; do
    if [[ $rc != 0 ]]; then
      reasons+=("a rank did not exit 0 (exit codes: $status)")
      return
    fi
  done
}

# Exactly one line starts with "tessera" and it holds every given word.
expect_one_message() {
  local count
  count=$(tessera_lines | wc -l)
  if [[ $count -ne 1 ]]; then
    reasons+=("$count lines start with 'tessera', expected 1")
    return
  fi
  local line word
  line=$(tessera_lines)
  for word in "$@"; do
    [[ $line == *"$word"* ]] || reasons+=("the message does not contain '$word'")
  done
}

# No *.h5 or *.partial anywhere under $case_dir, and the output folder `out`, if
# it exists, holds no file.
expect_no_output() {
  local left
  left=$(find "$case_dir" \( -name '*.h5' -o -name '*.partial' \) ! -type d -print)
  [[ -z $left ]] || reasons+=("output files left behind: $(echo $left)")
  if [[ -d $case_dir/out ]]; then
    left=$(find "$case_dir/out" ! -type d -print)
    [[ -z $left ]] || reasons+=("the output folder holds files: $(echo $left)")
  fi
}

# Ends a case: PASS or FAIL with the reasons and the output.
finish_case() {
  local name=$1
  if [[ ${#reasons[@]} -eq 0 ]]; then
    echo "PASS $name ($((SECONDS - case_started)) s)"
    echo "     message: $(tessera_lines | tail -n 1)"
    passed=$((passed + 1))
  else
    echo "FAIL $name ($((SECONDS - case_started)) s)"
    local reason
    for reason in "${reasons[@]}"; do echo "     - $reason"; done
    echo "     exit codes: $status; output:"
    sed 's/^/     | /' "$log"
    failed=$((failed + 1))
  fi
}

# A bad-input case: runs tessera with the arguments after "--" and expects a
# failure whose message holds every word before "--".
bad_case() {
  local name=$1
  shift
  local words=()
  while [[ $1 != "--" ]]; do
    words+=("$1")
    shift
  done
  shift
  local had_out=0
  [[ -e $case_dir/out ]] && had_out=1
  run_tessera "$@"
  expect_all_ranks_failed
  expect_one_message "${words[@]}"
  expect_no_output
  # A refused run leaves no output folder of its own making behind.
  if ((!had_out)) && [[ -e $case_dir/out ]]; then reasons+=("the output folder out was left behind"); fi
  finish_case "$name"
}

# start_signalable ARGS...: runs tessera ARGS on RANKS ranks in $case_dir in the
# background, from a private copy of the binary so that a signal reaches this run's
# ranks only; its output goes to $signalled_log.
start_signalable() {
  mkdir -p "$case_dir/bin"
  cp "$TESSERA" "$case_dir/bin/tessera"
  signalled_log=$case_dir.signalled.log
  signalled_command=$1
  (cd "$case_dir" && limited "$MPIEXEC" -n "$RANKS" --oversubscribe "$case_dir/bin/tessera" "$@") \
    >"$signalled_log" 2>&1 &
  signalled_runner=$!
}

# signal_when PATTERN SIGNAL: waits (at most 60 s) for PATTERN in the log of the run
# start_signalable began, sends SIGNAL to its ranks and waits for it; sets
# $signalled_rc (mpiexec's exit code) and $log.
signal_when() {
  local pattern=$1 signal=$2 waited=0
  until grep -q "$pattern" "$signalled_log" || ((waited++ > 600)); do sleep 0.1; done
  pkill "-$signal" -f "^$case_dir/bin/tessera $signalled_command"
  wait "$signalled_runner"
  signalled_rc=$?
  log=$signalled_log
}

# A copy of the Fashion-MNIST files in $case_dir/data.
copy_data() {
  mkdir -p "$case_dir/data"
  cp "$DATA"/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz "$case_dir/data/"
}


# A small MLP model file (784-128-64-10, one epoch); sets MLP.
make_small_mlp() {
  new_case
  run_tessera train --model.arch=mlp-mixnn --train.epochs=1 --run.out="$FIXTURES/m"
  expect_all_ranks_succeeded
  MLP=$FIXTURES/m/mlp-mixnn.h5
  finish_case "small MLP model file"
}

# A small vgg-mini model file trained for one epoch on the first N images; sets MODEL.
make_small_vgg_mini() {
  local images=$1
  new_case
  run_tessera train --model.arch=vgg-mini --train.epochs=1 --data.train_limit="$images" --data.test_limit=256 \
    --run.out="$FIXTURES/v"
  expect_all_ranks_succeeded
  MODEL=$FIXTURES/v/vgg-mini.h5
  [[ -f $MODEL ]] || reasons+=("no model file $MODEL")
  finish_case "small vgg-mini model file ($images images)"
}

# vgg-mini (make_small_vgg_mini) served on the ranks with classifier.0 in 64x64 blocks
# (1574 devices, 3140 streams) on 64 test images; sets TRACE to its serve.h5.
make_served_trace() {
  make_small_vgg_mini 1024
  new_case
  run_tessera serve --model.checkpoint="$MODEL" --data.test_limit=64 --run.out="$FIXTURES/s"
  expect_all_ranks_succeeded
  TRACE=$FIXTURES/s/serve.h5
  finish_case "served trace"
}

# A one-node Slurm (slurm/local-cluster.sh) under $ROOT for the batch-script tests,
# stopped on exit; the batch scripts run $TESSERA. Needs root.
start_local_slurm() {
  local repo cluster
  repo=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../..")
  cluster=$ROOT/slurm
  trap '"'"$repo"'/slurm/local-cluster.sh" stop "'"$cluster"'"; rm -rf "$ROOT"' EXIT
  "$repo/slurm/local-cluster.sh" start "$cluster" || { echo "FAIL could not start a one-node Slurm"; exit 1; }
  export SLURM_CONF=$cluster/slurm.conf
  export TESSERA  # the batch scripts run this binary
}

