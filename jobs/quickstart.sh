#!/usr/bin/env bash
# README command 1: installs, builds, and runs the quick-start experiment on the
# embedded default data (Fashion-MNIST), writing HDF5 files and figures to
# runs/quickstart/: trains the victim models (reused when already trained with the
# same configuration), then serves vgg-mini on 2 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/build.sh
source cmake/mpi-env.sh
out=runs/quickstart
mkdir -p "$out"
start=$SECONDS

for arch in vgg-mini vgg-mini-seedpool; do
  build/tessera train --config jobs/quickstart.ini --model.arch="$arch" --run.out="$out"
done

# The S0 service: vgg-mini's classifier.0 in 64x64 blocks (1568 devices) on 2
# ranks, distributed inference on the test set checked against the monolithic model.
mpiexec -n 2 build/tessera serve --config jobs/quickstart.ini --model.checkpoint="$out"/vgg-mini.h5 \
  --run.out="$out"

"$TESSERA_PYTHON" analysis/plot_training.py "$out"/vgg-mini.h5 "$out"/vgg-mini-seedpool.h5 \
  --out "$out"/training.png

echo "quickstart: done in $((SECONDS - start)) s; results in $out/"
