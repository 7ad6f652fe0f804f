#!/usr/bin/env bash
# End-to-end bad-input tests of the tessera binary under mpiexec on 2 ranks.
#
# usage: bad_input.sh TESSERA [MPIEXEC]
#
# For every bad input: every rank exits non-zero, exactly one line of the output
# starts with "tessera" (the error, printed once by rank 0; Open MPI's own lines
# are ignored) and it names the file or option at fault, and no output file
# (*.h5, *.partial) is left behind. One positive case trains mlp-mixnn for one
# epoch and checks the model file, so the script can also fail the other way.

source "$(dirname "$0")/harness.sh"

# --- a tiny model file for the blocks cases (in $FIXTURES, not checked for leftovers)
new_case
run_tessera train --model.arch=mlp-mixnn --train.epochs=1 --data.train_limit=512 \
  --data.test_limit=256 --run.out="$FIXTURES/m"
expect_all_ranks_succeeded
MODEL=$FIXTURES/m/mlp-mixnn.h5
[[ -f $MODEL ]] || reasons+=("no model file $MODEL")
left=$(find "$FIXTURES" -name '*.partial')
[[ -z $left ]] || reasons+=("left behind: $left")
finish_case "tiny model file for the blocks cases"

# --- 1. truncated IDX file
new_case
copy_data
gunzip -c "$DATA/t10k-images-idx3-ubyte.gz" | head -c 100000 | gzip -c >"$case_dir/data/t10k-images-idx3-ubyte.gz"
bad_case "1. truncated IDX file" "$case_dir/data/t10k-images-idx3-ubyte.gz" truncated -- \
  train --model.arch=mlp-mixnn --data.dir="$case_dir/data" --run.out=out

# --- 2. wrong IDX magic
new_case
copy_data
{ printf '\x12\x34'; gunzip -c "$DATA/train-labels-idx1-ubyte.gz" | tail -c +3; } |
  gzip -c >"$case_dir/data/train-labels-idx1-ubyte.gz"
bad_case "2. wrong IDX magic" "$case_dir/data/train-labels-idx1-ubyte.gz" magic -- \
  train --model.arch=mlp-mixnn --data.dir="$case_dir/data" --run.out=out

# --- 3. CIFAR file whose size is not a multiple of 3074
new_case
mkdir -p "$case_dir/cifar"
head -c $((3074 * 2 + 5)) /dev/zero >"$case_dir/cifar/train.bin"
head -c 3074 /dev/zero >"$case_dir/cifar/test.bin"
bad_case "3. CIFAR size not a multiple of 3074" "$case_dir/cifar/train.bin" 3074 -- \
  train --data.name=cifar100 --model.arch=vgg16-cifar --data.dir="$case_dir/cifar" --run.out=out

# --- 4. block size 0, block size larger than the matrix
new_case
bad_case "4a. block height 0" --blocks.bh -- \
  blocks --model.checkpoint="$MODEL" --blocks.bh=0 --run.out=out
new_case
bad_case "4b. block width larger than the matrix" --blocks.bw 100000 -- \
  blocks --model.checkpoint="$MODEL" --blocks.bw=100000 --run.out=out

# --- 5. unknown architecture
new_case
bad_case "5. unknown arch" --model.arch resnet9 -- train --model.arch=resnet9 --run.out=out

# --- 6. unknown option
new_case
bad_case "6. unknown option" train.epochz -- train --train.epochz=3 --run.out=out

# --- 7. output folder that cannot be created (root ignores permissions: a path under a file)
new_case
touch "$case_dir/f"
bad_case "7. unwritable output folder" --run.out f/sub -- \
  train --model.arch=mlp-mixnn --train.epochs=1 --run.out=f/sub

# --- 8. model file missing a parameter
new_case
BROKEN=$FIXTURES/broken.h5
cp "$MODEL" "$BROKEN" 2>/dev/null &&
  "$PYTHON" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); del f['model/layers.2.weight']; f.close()" \
    "$BROKEN" >"$case_dir.prep" 2>&1 ||
  reasons+=("could not make the broken model file: $(cat "$case_dir.prep" 2>/dev/null)")
bad_case "8. model file missing a parameter" "$BROKEN" layers.2.weight -- \
  blocks --model.checkpoint="$BROKEN" --run.out=out

# --- 9. job file missing
new_case
bad_case "9. missing --config job file" nowhere.ini --config -- train --config nowhere.ini --run.out=out

# --- 10. bad option value
new_case
bad_case "10. bad value" --train.epochs abc -- train --train.epochs=abc --run.out=out

# --- 11. missing data folder
new_case
bad_case "11. missing data folder" --data.dir nowhere -- \
  train --model.arch=mlp-mixnn --data.dir=nowhere --run.out=out

# --- 12. threshold: negative population, evaluation set of size 0
new_case
bad_case "12a. threshold: negative population" --threshold.population -3 -- \
  threshold --threshold.population=-3
new_case
bad_case "12b. threshold: evaluation set of size 0" --threshold.eval_size -- \
  threshold --threshold.eval_size=0 --run.out=out

# --- positive: mlp-mixnn, 1 epoch, Fashion-MNIST, 2 ranks: >= 0.80 test accuracy
new_case
run_tessera train --model.arch=mlp-mixnn --train.epochs=1 --run.out=out
expect_all_ranks_succeeded
if [[ ! -f $case_dir/out/mlp-mixnn.h5 ]]; then
  reasons+=("no out/mlp-mixnn.h5")
else
  left=$(find "$case_dir" -name '*.partial')
  [[ -z $left ]] || reasons+=("left behind: $left")
  check=$("$PYTHON" - "$case_dir/out/mlp-mixnn.h5" 2>&1 <<'EOF'
import sys
import h5py
problems = []
with h5py.File(sys.argv[1], "r") as f:
    def text(value):
        return value.decode() if isinstance(value, bytes) else str(value)
    attrs = f.attrs
    if text(attrs.get("command", "")) != "train":
        problems.append("attr command is %r, expected 'train'" % (attrs.get("command"),))
    if int(attrs.get("world_size", -1)) != 2:
        problems.append("attr world_size is %r, expected 2" % (attrs.get("world_size"),))
    if "[train]" not in text(attrs.get("config", "")):
        problems.append("attr config holds no [train] section")
    if "model/layers.0.weight" not in f:
        problems.append("no /model/layers.0.weight")
    elif f["model/layers.0.weight"].shape != (128, 784):
        problems.append("/model/layers.0.weight is %r, expected (128, 784)" % (f["model/layers.0.weight"].shape,))
    accuracy = float(f["model"].attrs.get("test_accuracy", -1)) if "model" in f else -1.0
    print("test_accuracy %.4f" % accuracy)
    if not accuracy >= 0.80:
        problems.append("test accuracy %.4f < 0.80" % accuracy)
for p in problems:
    print("PROBLEM " + p)
sys.exit(1 if problems else 0)
EOF
  ) || reasons+=("model file check: $(echo $check)")
fi
finish_case "positive: mlp-mixnn 1 epoch on 2 ranks writes a model file with accuracy >= 0.80"
[[ -n ${check:-} ]] && echo "     model file: $(echo "$check" | grep test_accuracy)"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
