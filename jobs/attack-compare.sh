#!/usr/bin/env bash
# The comparison of the adversary's search methods at equal budget (docs/DESIGN.md
# section 8): every method of the table, initialisation matching with the seed
# guessed right and wrong, and the best chains, on vgg-mini and vgg-mini-seedpool
# (classifier.0 in 64x64 blocks), with 10%, 50% and 100% of the blocks held, each run
# given the same wall-time budget on one attack rank and one service rank. Writes
# every run to runs/attack-compare/, merges them into runs/attack-compare/compare.h5,
# and draws compare.png and the Markdown table compare.md (analysis/compare_attacks.py).
#
# usage: jobs/attack-compare.sh [--budget SECONDS] [--models "vgg-mini ..."]
#                               [--held "0.1 0.5 1"] [--methods "ga sa ..."] [--keep]
# --keep: a run whose file is already in runs/attack-compare/ is kept, not run again
# (an interrupted grid continues where it stopped; the merge takes every run asked for).
# The full grid (2 models x 3 fractions x 11 methods at 60 s) took 64 minutes on
# 2 cores; the victims are trained first when runs/quickstart/ does not hold them.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=60
models="vgg-mini vgg-mini-seedpool"
fractions="0.1 0.5 1"
methods="ga sa rl sinkhorn assignment stats init init-seed-wrong sinkhorn,sa surrogate surrogate,sa"
keep=false
while (($#)); do
  case $1 in
    --budget) budget=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --held) fractions=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    *) echo "attack-compare.sh: unknown argument '$1' (see the usage at the top of the script)" >&2; exit 2 ;;
  esac
done
[[ -x build/tessera ]] || bash cmake/build.sh
source cmake/mpi-env.sh
python=$TESSERA_PYTHON
victims=runs/quickstart
out=runs/attack-compare
mkdir -p "$victims" "$out"

# The settings of one method's run beyond jobs/attack-compare.ini.
method_args() {
  case $1 in
    init) echo "--attack.method=init" ;;                                  # the default guesses hold the training seed
    init-seed-wrong) echo "--attack.method=init --init.seeds=7,8,9" ;;  # none confirmed: linearised assignment
    sinkhorn,sa) echo "--attack.method=sinkhorn,sa --sa.t_start=0 --sinkhorn.steps=100" ;;
    surrogate,sa) echo "--attack.method=surrogate,sa --sa.t_start=0" ;;  # hill climbing from the template's placement
    *) echo "--attack.method=$1" ;;
  esac
}

runs=()
for arch in $models; do
  build/tessera train --config jobs/quickstart.ini --model.arch="$arch" --run.out="$victims" --train.reuse=true
  for held in $fractions; do
    drop=$("$python" -c "print(round(1 - $held, 6))")
    for method in $methods; do
      name="${arch}_held${held}_${method//,/+}"
      runs+=("$out/$name.h5")
      if $keep && [[ -f $out/$name.h5 ]]; then
        echo "attack-compare: $arch, $held held, $method: kept $out/$name.h5"
        continue
      fi
      echo "attack-compare: $arch, $held held, $method ($budget s)"
      # shellcheck disable=SC2046
      mpiexec -n 2 --bind-to none build/tessera attack --config jobs/attack-compare.ini \
        --model.checkpoint="$victims/$arch.h5" --attack.drop_rate="$drop" --attack.time_budget="$budget" \
        --attack.run="$method" --attack.replace=true --run.name="$name" --run.out="$out" $(method_args "$method")
    done
  done
done
rm -f "$out/compare.h5"
"$python" analysis/merge_runs.py "${runs[@]}" --out "$out/compare.h5"
"$python" analysis/compare_attacks.py "$out/compare.h5" --out "$out/compare.png" --table "$out/compare.md"
