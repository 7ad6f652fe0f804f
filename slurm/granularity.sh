#!/usr/bin/env bash
# Submits a granularity sweep: a job array with one task per block size, each
# running the sweep COMMAND (drop or swap) with square blocks of that size, and an
# analysis job that starts when every task succeeded (--dependency=afterok) and
# merges the tasks' files and plots them. COMMAND study runs the granularity study
# instead (slurm/study.sh): per block size, a search per model and drop rate, then
# a fine-tune per model from the searches; its analysis writes analysis/report.py's
# figure and table. COMMAND threshold runs the searches only (per block size, one per
# model and drop rate) and its analysis draws them against the block count
# (analysis/plot_threshold.py). Run from the checkout:
#
#   slurm/granularity.sh [options] COMMAND [tessera options]
#   slurm/granularity.sh drop --config jobs/drop-cpu.ini --model.checkpoint=runs/quickstart/vgg-mini.h5
#   slurm/granularity.sh --models "runs/g/vgg-mini.h5" study --config jobs/granularity-study.ini
#
# options:
#   --sizes "16 32 64 128 256"  block sizes, one array task each (the default)
#   --out DIR                   folder for the task files COMMAND-<array job>_<task>.h5, the
#                               merged COMMAND-<array job>.h5 and its figure (default runs/granularity)
#   --after JOBID[:JOBID...]    start the array only when these jobs succeeded (training, say)
#   --sbatch "OPTIONS"          more sbatch options for the array tasks, e.g. "--ntasks=8 --time=2:00:00"
#   --models "A.h5 B.h5"        study, threshold: the victims' model files (named <arch>.h5, as tessera
#                               train writes them)
#   --rates "0.5 0.9 0.99"      study, threshold: the drop rates (the default)
#
# Prints "array_job=ID" and "analysis_job=ID"; logs go to DIR/logs/.
set -euo pipefail

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
sizes="16 32 64 128 256" out=runs/granularity after="" extra="" models="" rates="0.5 0.9 0.99"
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --sbatch) extra=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --help|-h) usage 0 ;;
    *) echo "slurm/granularity.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $# -ge 1 ]] || { echo "slurm/granularity.sh: COMMAND (drop, swap, study or threshold) missing (see --help)" >&2; exit 2; }
command=$1
shift
[[ $command == drop || $command == swap || $command == study || $command == threshold ]] ||
  { echo "slurm/granularity.sh: COMMAND must be drop, swap, study or threshold, got '$command'" >&2; exit 2; }
if [[ $command == study || $command == threshold ]]; then
  read -r -a model_list <<<"$models"
  ((${#model_list[@]} > 0)) || { echo "slurm/granularity.sh: $command: --models missing (see --help)" >&2; exit 2; }
  declare -A arch_seen=()
  for m in "${model_list[@]}"; do
    [[ $m == *.h5 ]] || { echo "slurm/granularity.sh: --models: '$m' is not a model file (.h5)" >&2; exit 2; }
    [[ -z ${arch_seen[$(basename "$m")]:-} ]] ||
      { echo "slurm/granularity.sh: --models: two model files named $(basename "$m")" >&2; exit 2; }
    arch_seen[$(basename "$m")]=1
  done
  read -r -a rate_list <<<"$rates"
  ((${#rate_list[@]} > 0)) || { echo "slurm/granularity.sh: --rates: no drop rate given" >&2; exit 2; }
  for r in "${rate_list[@]}"; do
    [[ $r =~ ^0(\.[0-9]+)?$ ]] || { echo "slurm/granularity.sh: --rates: '$r' is not a drop rate in [0, 1)" >&2; exit 2; }
  done
fi
[[ -f slurm/env.sh ]] || { echo "slurm/granularity.sh: run it from the tessera checkout" >&2; exit 2; }
read -r -a size_list <<<"$sizes"
for s in "${size_list[@]}"; do
  [[ $s =~ ^[1-9][0-9]*$ ]] || { echo "slurm/granularity.sh: --sizes: '$s' is not a block size" >&2; exit 2; }
done
tasks=${#size_list[@]}
((tasks > 0)) || { echo "slurm/granularity.sh: --sizes: no block size given" >&2; exit 2; }

mkdir -p "$out/logs"
out=$(realpath "$out")
# The study's model list goes to the tasks and the analysis job by absolute path.
model_paths=()
for m in ${models}; do model_paths+=("$(realpath -m "$m")"); done
export TESSERA_STUDY_MODELS="${model_paths[*]}" TESSERA_STUDY_RATES="$rates"
array_options=(--parsable --array="0-$((tasks - 1))" --output="$out/logs/%x-%A_%a.out"
               --export="ALL,TESSERA_BLOCK_SIZES=${size_list[*]},TESSERA_GRANULARITY_OUT=$out")
[[ -n $after ]] && array_options+=(--dependency="afterok:$after")
tessera_options=("$@")
# shellcheck disable=SC2206  # the extra sbatch options are split on purpose
array_options+=($extra)

array_job=$(sbatch "${array_options[@]}" slurm/granularity-task.sbatch "$command" "${tessera_options[@]}")
analysis_job=$(sbatch --parsable --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
  --output="$out/logs/%x-%j.out" slurm/analysis.sbatch "$out" "$command" "$array_job" "$tasks")
results="$out/$command-$array_job.{h5,png}"
[[ $command == study ]] && results="$out/study-$array_job.h5 and $out/study-$array_job-report.{png,md}"
[[ $command == threshold ]] && results="$out/threshold-$array_job.{h5,png,md,txt}"
echo "slurm/granularity.sh: $command over block sizes ${size_list[*]}: array job $array_job ($tasks tasks)," \
  "then analysis job $analysis_job; results in $results"
echo "array_job=$array_job"
echo "analysis_job=$analysis_job"
