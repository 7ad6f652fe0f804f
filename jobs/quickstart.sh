#!/usr/bin/env bash
# README command 1: installs, builds, and runs the quick-start experiment on the
# embedded default data (Fashion-MNIST), writing HDF5 files and figures to
# runs/quickstart/: trains the victim models (reused when already trained with the
# same configuration), serves vgg-mini on 2 ranks, and runs the adversary's drop
# and swap sweeps on both geometries, with Fig. 6 and Fig. 7, a short GA and
# annealing search for the held blocks' positions, and the eavesdropper's division
# of the served trace with the Pareto front of the cover traffic that hides it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/build.sh
source cmake/mpi-env.sh
out=runs/quickstart
mkdir -p "$out"
start=$SECONDS

for arch in vgg-mini vgg-mini-seedpool; do
  build/tessera train --config jobs/quickstart.ini --model.arch="$arch" --run.out="$out" --train.reuse=true
done

# The S0 service: vgg-mini's classifier.0 in 64x64 blocks (1568 devices) on 2
# ranks, distributed inference on the test set checked against the monolithic model.
mpiexec -n 2 build/tessera serve --config jobs/quickstart.ini --model.checkpoint="$out"/vgg-mini.h5 \
  --run.out="$out"

# The adversary (paper sections III-IV) on both geometries: P1 drop sweep, S1 drop x
# swap, on the first 2000 test images to keep the quick start short (the job files
# default to the whole test set).
for arch in vgg-mini vgg-mini-seedpool; do
  for sweep in drop swap; do
    mpiexec -n 2 build/tessera "$sweep" --config "jobs/$sweep-cpu.ini" --model.checkpoint="$out/$arch.h5" \
      --attack.eval_images=2000 --run.out="$out"
  done
done

# The adversary's search (paper section IV, P2) on vgg-mini with 10% of the blocks
# held: a short island GA and a simulated-annealing chain on 1 attack rank, the
# other rank serving (it hands over the compromised devices' blocks, then idles);
# then the strongest adversary, surrogate templates trained with the victim's recipe
# (jobs/quickstart.ini's [train]) on 10000 public training images.
for method in ga sa; do
  mpiexec -n 2 --bind-to none build/tessera attack --config jobs/attack-cpu.ini --model.checkpoint="$out"/vgg-mini.h5 \
    --attack.method="$method" --attack.generations=50 --attack.replace=true --run.threads=2 --run.out="$out" \
    --run.name="attack-$method"
done
mpiexec -n 2 --bind-to none build/tessera attack --config jobs/attack-cpu.ini --model.checkpoint="$out"/vgg-mini.h5 \
  --attack.method=surrogate --surrogate.count=3 --adversary.public=10000 --train.lr_step=1 --train.lr_gamma=0.2 \
  --attack.replace=true --run.threads=2 --run.out="$out" --run.name=attack-surrogate

# The eavesdropper and the provider's defence (paper section VI) on the served
# trace: Algorithm 1's division of the devices, then cover traffic searched by the
# greedy, evolutionary and generator optimisers, with its Pareto front.
build/tessera streams analyze --streams.trace="$out"/serve.h5 --streams.replace=true --run.out="$out"
build/tessera streams obfuscate --streams.trace="$out"/serve.h5 --run.out="$out"

# What stolen blocks are worth: half, a tenth and a hundredth of vgg-mini's
# classifier.0 blocks at their true positions, the rest of the model known, trained
# for one epoch on 10000 public images, against the layer and the whole model from
# scratch on the same images.
mpiexec -n 2 build/tessera finetune --model.checkpoint="$out"/vgg-mini.h5 --finetune.drop_rates=0.5,0.9,0.99 \
  --adversary.public=10000 --train.epochs=1 --data.test_limit=2000 --run.out="$out"

"$TESSERA_PYTHON" analysis/plot_training.py "$out"/vgg-mini.h5 "$out"/vgg-mini-seedpool.h5 \
  --out "$out"/training.png
"$TESSERA_PYTHON" analysis/plot_drop.py "$out"/drop-vgg-mini.h5 "$out"/drop-vgg-mini-seedpool.h5 \
  --out "$out"/fig6-drop.png
for arch in vgg-mini vgg-mini-seedpool; do
  "$TESSERA_PYTHON" analysis/plot_swap.py "$out/swap-$arch.h5" --out "$out/fig7-swap-$arch.png"
done

"$TESSERA_PYTHON" analysis/plot_attack.py "$out"/attack-{ga,sa,surrogate}.h5 --out "$out"/attack.png
"$TESSERA_PYTHON" analysis/plot_streams.py "$out"/streams.h5 --out "$out"/streams-division.png
"$TESSERA_PYTHON" analysis/plot_streams.py "$out"/obfuscate.h5 --out "$out"/streams-front.png
"$TESSERA_PYTHON" analysis/plot_finetune.py "$out"/finetune-vgg-mini.h5 --out "$out"/finetune.png

echo "quickstart: done in $((SECONDS - start)) s; results in $out/"
