#!/usr/bin/env bash
# Submits a granularity sweep: a job array with one task per block size, each
# running the sweep COMMAND (drop or swap) with square blocks of that size, and an
# analysis job that starts when every task succeeded (--dependency=afterok) and
# merges the tasks' files and plots them. Run from the checkout:
#
#   slurm/granularity.sh [options] COMMAND [tessera options]
#   slurm/granularity.sh drop --config jobs/drop-cpu.ini --model.checkpoint=runs/quickstart/vgg-mini.h5
#
# options:
#   --sizes "16 32 64 128 256"  block sizes, one array task each (the default)
#   --out DIR                   folder for the task files COMMAND-<array job>_<task>.h5, the
#                               merged COMMAND-<array job>.h5 and its figure (default runs/granularity)
#   --after JOBID               start the array only when job JOBID succeeded (a training job, say)
#   --sbatch "OPTIONS"          more sbatch options for the array tasks, e.g. "--ntasks=8 --time=2:00:00"
#
# Prints "array_job=ID" and "analysis_job=ID"; logs go to DIR/logs/.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
sizes="16 32 64 128 256" out=runs/granularity after="" extra=""
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --sbatch) extra=$2; shift 2 ;;
    --help|-h) usage 0 ;;
    *) echo "slurm/granularity.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $# -ge 1 ]] || { echo "slurm/granularity.sh: COMMAND (drop or swap) missing (see --help)" >&2; exit 2; }
command=$1
shift
[[ $command == drop || $command == swap ]] ||
  { echo "slurm/granularity.sh: COMMAND must be drop or swap, got '$command'" >&2; exit 2; }
[[ -f slurm/env.sh ]] || { echo "slurm/granularity.sh: run it from the tessera checkout" >&2; exit 2; }
read -r -a size_list <<<"$sizes"
for s in "${size_list[@]}"; do
  [[ $s =~ ^[1-9][0-9]*$ ]] || { echo "slurm/granularity.sh: --sizes: '$s' is not a block size" >&2; exit 2; }
done
tasks=${#size_list[@]}
((tasks > 0)) || { echo "slurm/granularity.sh: --sizes: no block size given" >&2; exit 2; }

mkdir -p "$out/logs"
out=$(realpath "$out")
array_options=(--parsable --array="0-$((tasks - 1))" --output="$out/logs/%x-%A_%a.out"
               --export="ALL,TESSERA_BLOCK_SIZES=${size_list[*]},TESSERA_GRANULARITY_OUT=$out")
[[ -n $after ]] && array_options+=(--dependency="afterok:$after")
tessera_options=("$@")
# shellcheck disable=SC2206  # the extra sbatch options are split on purpose
array_options+=($extra)

array_job=$(sbatch "${array_options[@]}" slurm/granularity-task.sbatch "$command" "${tessera_options[@]}")
analysis_job=$(sbatch --parsable --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
  --output="$out/logs/%x-%j.out" slurm/analysis.sbatch "$out" "$command" "$array_job" "$tasks")
echo "slurm/granularity.sh: $command over block sizes ${size_list[*]}: array job $array_job ($tasks tasks)," \
  "then analysis job $analysis_job; results in $out/$command-$array_job.{h5,png}"
echo "array_job=$array_job"
echo "analysis_job=$analysis_job"
