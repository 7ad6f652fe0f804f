#!/usr/bin/env bash
# End-to-end tests of `tessera serve` on 2 ranks: inference and training equal
# the monolithic model, 10^5 devices fit in memory, the trace has the exact
# event count, and bad input fails cleanly (one line, every rank non-zero, no file).
#
# usage: serve.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

# Checks an output file with Python (h5py): the code on stdin gets the file as
# sys.argv[1] and the given key=value pairs as sys.argv[2:]; it prints lines and
# exits non-zero on a problem.
check_file() {
  local file=$1
  shift
  local out
  out=$("$PYTHON" - "$file" "$@" 2>&1) || reasons+=("check of $file: $(echo $out)")
  echo "     $(echo "$out" | tr '\n' ' ')"
}

# --- a small vgg-mini model file (1 epoch on 1024 images)
make_small_vgg_mini 1024

# vgg-mini with classifier.0 cut, one block per device: per forward pass the client
# feeds features.0 and the chain to features.6 (3 events), features.6 sends x_c to
# every block device (N), partials go to the row owners (N - R), row owners feed
# classifier.3 (R), which feeds classifier.6 (1): 2N + 4 events.
PY_SERVE_CHECK='
import sys, h5py
f = h5py.File(sys.argv[1], "r")
want = dict(a.split("=") for a in sys.argv[2:])
s = f["serve"].attrs
problems = []
n, rows = int(want["blocks"]), int(want["rows"])
events = (2 * n + 4) * (2 if want["mode"] == "train" else 1)
if f["trace/src"].shape[0] != events: problems.append("trace has %d events, expected %d" % (f["trace/src"].shape[0], events))
if int(f["trace"].attrs["devices"]) != n + 6: problems.append("devices %d, expected %d" % (f["trace"].attrs["devices"], n + 6))
if f["trace/truth/device_layer"].shape[0] != n + 6: problems.append("truth size")
if int(f["blocks"].attrs["rows"]) != rows: problems.append("blocks rows")
if f["blocks/device_of_block"].shape[0] != n: problems.append("device_of_block size")
if want["mode"] == "infer":
    print("accuracy %.4f monolithic %.4f max_logit_diff %.2e" % (s["accuracy"], s["reference_accuracy"], s["max_logit_diff"]))
    # Logits agree to round-off; a prediction may flip only where two logits tie to
    # within it, so at most one image of the set.
    if abs(s["accuracy"] - s["reference_accuracy"]) > 1.0 / s["images"] + 1e-12: problems.append("accuracy differs from monolithic")
    if not s["max_logit_diff"] < 1e-4: problems.append("logits differ by %g" % s["max_logit_diff"])
else:
    print("max_weight_diff %.2e" % s["max_weight_diff"])
    if not s["max_weight_diff"] < 1e-4: problems.append("weights differ by %g" % s["max_weight_diff"])
print("peak memory %.0f MiB" % s["peak_rss_mib_max_rank"])
if "max_mib" in want and not s["peak_rss_mib_max_rank"] <= float(want["max_mib"]): problems.append("peak memory over %s MiB" % want["max_mib"])
for p in problems: print("PROBLEM", p)
sys.exit(1 if problems else 0)
'

# --- batches of one image on 2 ranks: one rank's share of every batch is empty
new_case
run_tessera serve --model.checkpoint="$MODEL" --data.test_limit=100 --serve.batch=1 --run.out=out
expect_all_ranks_succeeded
check_file "$case_dir/out/serve.h5" mode=infer blocks=1568 rows=16 <<<"$PY_SERVE_CHECK"
[[ -z $(find "$case_dir" -name '*.partial') ]] || reasons+=("a partial file was left")
finish_case "serve infer, batches of one image on 2 ranks (an empty share each step), equals monolithic"

# --- SIGTERM mid-run: every rank stops with exit code 3 and no file is left
new_case
mkdir -p "$case_dir/bin"
cp "$TESSERA" "$case_dir/bin/tessera"  # a private copy, so that the signal reaches this run's ranks only
(cd "$case_dir" && limited "$MPIEXEC" -n 2 --oversubscribe \
   sh -c '"$0" "$@"; echo $? > "'"$case_dir"'/rc.$OMPI_COMM_WORLD_RANK"' "$case_dir/bin/tessera" serve \
   --model.checkpoint="$MODEL" --serve.mode=train --serve.steps=100000 --serve.batch=64 --run.out=out) \
  >"$case_dir.log" 2>&1 &
runner=$!
waited=0
until [[ -f $case_dir/out/serve.h5.partial ]] || ((waited++ > 600)); do sleep 0.1; done
sleep 1
pkill -TERM -f "^$case_dir/bin/tessera serve"
wait "$runner"
log=$case_dir.log
[[ $(cat "$case_dir"/rc.0 "$case_dir"/rc.1 2>/dev/null | tr '\n' ' ') == "3 3 " ]] ||
  reasons+=("exit codes '$(cat "$case_dir"/rc.* 2>/dev/null | tr '\n' ' ')', expected 3 3")
grep -q '^tessera serve: stopped: SIGTERM received after' "$log" || reasons+=("no 'stopped: SIGTERM' line")
[[ -z $(find "$case_dir" -name '*.h5*') ]] || reasons+=("files left: $(find "$case_dir" -name '*.h5*')")
finish_case "SIGTERM to serve: every rank stops with exit code 3, no partial file"

# --- inference with ragged 100x100 blocks equals the monolithic model
new_case
run_tessera serve --model.checkpoint="$MODEL" --blocks.bh=100 --blocks.bw=100 --data.test_limit=1000 \
  --serve.batch=128 --run.out=out
expect_all_ranks_succeeded
check_file "$case_dir/out/serve.h5" mode=infer blocks=693 rows=11 <<<"$PY_SERVE_CHECK"
finish_case "serve infer, 100x100 blocks, equals monolithic"

# --- training steps with 4 blocks per device equal monolithic training
new_case
run_tessera serve --model.checkpoint="$MODEL" --serve.mode=train --serve.steps=5 --serve.batch=64 \
  --blocks.per_device=4 --blocks.bh=64 --blocks.bw=64 --data.train_limit=1024 --data.test_limit=256 --run.out=out
expect_all_ranks_succeeded
# With 4 blocks per device the count depends on the placement: check the weights only.
check_file "$case_dir/out/serve.h5" <<'EOF'
import sys, h5py
s = h5py.File(sys.argv[1], "r")["serve"].attrs
print("max_weight_diff %.2e" % s["max_weight_diff"])
sys.exit(0 if s["max_weight_diff"] < 1e-4 else 1)
EOF
finish_case "serve train, 4 blocks per device, equals monolithic training"

# --- 10^5 devices: classifier.0 at 8x8 = 100,352 devices, traced for one step, <= 2 GiB per rank
new_case
run_tessera serve --model.checkpoint="$MODEL" --blocks.bh=8 --blocks.bw=8 --data.test_limit=256 \
  --serve.batch=256 --run.threads=1 --run.out=out
expect_all_ranks_succeeded
check_file "$case_dir/out/serve.h5" mode=infer blocks=100352 rows=128 max_mib=2048 <<<"$PY_SERVE_CHECK"
finish_case "10^5 devices serve and trace one step within 2 GiB per rank"

# --- bad input
new_case
bad_case "more service ranks than devices" "more service ranks (2) than devices (1)" -- \
  serve --model.checkpoint="$MODEL" --blocks.bh=1024 --blocks.bw=6272 --run.out=out
new_case
bad_case "target layer missing from the model" --blocks.layers classifier.9 -- \
  serve --model.checkpoint="$MODEL" --blocks.layers=classifier.9 --run.out=out
new_case
bad_case "model file of another arch" "$MODEL" mlp-mixnn --model.arch -- \
  serve --model.checkpoint="$MODEL" --model.arch=mlp-mixnn --run.out=out
new_case
bad_case "NCCL requested without a GPU" --comm.backend=nccl -- \
  serve --model.checkpoint="$MODEL" --comm.backend=nccl --run.out=out
new_case
bad_case "CUDA tensors where this build or machine has none" --comm.device=cuda -- \
  serve --model.checkpoint="$MODEL" --comm.device=cuda --run.out=out
new_case
bad_case "an unknown device" --comm.device "cpu, cuda or auto" -- \
  serve --model.checkpoint="$MODEL" --comm.device=gpu --run.out=out
new_case
bad_case "no model file given" --model.checkpoint -- serve --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
