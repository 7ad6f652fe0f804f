#!/usr/bin/env bash
# Installs what is missing, then configures and builds tessera in ./build
# (Release). Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-debian-deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > build.log 2>&1 || { cat build.log; exit 1; }
echo "build: compiling tessera with $jobs jobs (log: build.log)"
cmake --build build -j "$jobs" >> build.log 2>&1 || { tail -n 60 build.log; exit 1; }
echo "build: done (build/tessera)"
