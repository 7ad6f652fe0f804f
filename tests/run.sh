#!/usr/bin/env bash
# README command 2: installs, builds, and runs every test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/build.sh
source cmake/mpi-env.sh
cd build
ctest --output-on-failure -j 2 "$@"
