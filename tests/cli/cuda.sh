#!/usr/bin/env bash
# What a CUDA build (cmake/build-cuda.sh) can show on a machine without a GPU
# (ctest label `cuda`): it links the CUDA LibTorch and NCCL, starts and trains on
# the CPU, serves with the device chosen automatically, and every request for the
# GPU is refused with one line on every rank, no file left behind.
#
# usage: cuda.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

# --- linked against CUDA
new_case
libraries=$(ldd "$TESSERA")
for lib in libtorch_cuda.so libnccl.so libcudart.so; do
  [[ $libraries == *"$lib"* ]] || reasons+=("$TESSERA does not load $lib")
done
help=$("$TESSERA" serve --help 2>&1) || reasons+=("serve --help failed")
for word in --comm.backend --comm.device nccl cuda; do
  [[ $help == *"$word"* ]] || reasons+=("serve --help does not mention $word")
done
log=$case_dir.log
echo "$libraries" > "$log"
finish_case "linked against the CUDA LibTorch and NCCL; --help"

# --- starts and trains on the CPU (no GPU here)
make_small_mlp

# --- serves on the CPU when no GPU is visible (--comm.device=auto)
new_case
run_tessera serve --model.checkpoint="$MLP" --data.test_limit=64 --run.out=out
expect_all_ranks_succeeded
"$PYTHON" - "$case_dir/out/serve.h5" <<'PY' >> "$log" 2>&1 || reasons+=("serve.h5: backend or device not mpi/cpu, or logits differ")
import sys, h5py
s = h5py.File(sys.argv[1], "r")["serve"].attrs
print(dict(s))
assert s["backend"] == "mpi" and s["device"] == "cpu" and s["max_logit_diff"] < 1e-4
PY
finish_case "serve without a GPU: mpi on the CPU"

# --- every request for a GPU refused
new_case
bad_case "NCCL without a GPU" --comm.backend=nccl "no GPU" -- \
  serve --model.checkpoint="$MLP" --comm.backend=nccl --run.out=out
new_case
bad_case "CUDA tensors without a GPU" --comm.device=cuda "no GPU" -- \
  serve --model.checkpoint="$MLP" --comm.backend=mpi --comm.device=cuda --run.out=out
new_case
bad_case "bench service on NCCL without a GPU" --comm.backend=nccl "no GPU" -- \
  bench service --model.arch=mlp-mixnn --comm.backend=nccl
RANKS=1
new_case
bad_case "bench train on CUDA without a GPU" --bench.device=cuda "no GPU" -- \
  bench train --model.arch=mlp-mixnn --bench.device=cuda
new_case
bad_case "bench fitness on CUDA without a GPU" --bench.device=cuda "no GPU" -- \
  bench fitness --model.arch=mlp-mixnn --bench.device=cuda

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
