#!/usr/bin/env bash
# Runs every `tessera bench` with its defaults (the settings docs/measured.md quotes)
# and writes their files to OUT; with the default OUT, docs/bench/, it then
# regenerates the benchmark tables of docs/measured.md from those files.
#
#   bash jobs/benchmarks.sh [OUT]     # after the build (bash cmake/build.sh)
#
# The adversary's benchmarks need the quick start's vgg-mini (runs/quickstart/
# vgg-mini.h5), trained here with the quick start's settings when missing. Takes
# about 20 minutes on 2 cores; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/bench}
[[ -x build/tessera ]] || { echo "benchmarks: no build/tessera: run 'bash cmake/build.sh' first" >&2; exit 2; }
source cmake/mpi-env.sh
mkdir -p "$out"
model=runs/quickstart/vgg-mini.h5
build/tessera train --config jobs/quickstart.ini --model.arch=vgg-mini --run.out=runs/quickstart --train.reuse=true

step() {
  echo "benchmarks: $*" >&2
  "$@"
}
step build/tessera bench train --run.out="$out"
step mpiexec -n 2 --bind-to none build/tessera bench service --run.out="$out"
step mpiexec -n 2 build/tessera bench sweep --model.checkpoint="$model" --run.out="$out"
step build/tessera bench fitness --model.checkpoint="$model" --run.out="$out"
step build/tessera bench sinkhorn --model.checkpoint="$model" --run.out="$out"
step build/tessera bench assignment --run.out="$out"
step build/tessera bench streams --run.out="$out"
step build/tessera bench packets --run.out="$out"
if [[ $out == docs/bench ]]; then
  /usr/bin/python3 analysis/bench_table.py docs/bench/*.h5 --into docs/measured.md
  echo "benchmarks: docs/measured.md regenerated from docs/bench/*.h5" >&2
fi
