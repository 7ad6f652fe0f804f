#!/usr/bin/env bash
# Installs what is missing, then configures and builds tessera in ./build
# (Release). Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
grep '^-- tessera:' build.log | sed 's/^-- /build: /' || true
echo "build: compiling tessera with $jobs jobs (log: build.log)"
cmake --build build -j "$jobs" >> build.log 2>&1 || { tail -n 60 build.log; exit 1; }
# The GPU code compiled (not linked) in this CPU build, warnings as errors.
for target in tessera_nccl tessera_cuda_guarded_check; do
  if grep -q "Built target $target\$" build.log; then echo "build: $target compiled (CUDA toolkit, -Werror)"; fi
done
echo "build: done (build/tessera)"
