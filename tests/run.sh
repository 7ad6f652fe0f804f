#!/usr/bin/env bash
# README command 2: installs, builds (tessera and the fuzz harnesses), and runs every
# test suite under ctest; then, where the CUDA build exists (cmake/build-cuda.sh made
# build-cuda/), brings it up to date and runs its `cuda` label (docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/build.sh
# The fuzz harnesses' own clang build, here rather than inside the fuzz test, so that
# the test only fuzzes (it brings the build up to date, which then takes seconds).
bash tests/fuzz/run.sh build
source cmake/mpi-env.sh
(cd build && ctest --output-on-failure -j 2 "$@")
if [[ -f build-cuda/CMakeCache.txt ]]; then
  echo "tests: build-cuda/ exists: rebuilding it and running its cuda tests"
  bash cmake/build-cuda.sh
  (cd build-cuda && ctest --output-on-failure -L cuda)
fi
