#!/usr/bin/env bash
# The granularity study on a Slurm cluster: trains the victims (one job each), then
# the study array (slurm/granularity.sh study: per block size, a search per model and
# drop rate, then a fine-tune per model from those placements), then the analysis
# job that merges the fine-tune files and writes analysis/report.py's figure and
# Markdown table. With --command threshold (jobs/granularity-threshold.sh), the
# array runs the searches only and the analysis draws them against the block count
# (analysis/plot_threshold.py). Run from the checkout, with Slurm's commands on the PATH.
#
#   jobs/granularity-study.sh [options] [-- tessera options, e.g. --data.dir=DIR]
#
# The tessera options go where their section belongs: data.* and run.* to every run
# (the victims' training too), finetune.* and train.* to the fine-tunes, the
# search's sections (attack, ga, sa, ...) to the searches.
#
# options:
#   --command study|threshold  study (default), or the threshold: the strongest adversary
#                          (jobs/granularity-threshold.ini) at block sizes "8 16 32 64 128"
#                          and drop rates "0.9 0.5 0" (10%, 50% and all held), cpu preset only
#   --preset cpu|cluster   cpu (default): vgg-mini and vgg-mini-seedpool on Fashion-MNIST,
#                          trained by jobs/quickstart.ini, study settings jobs/granularity-study.ini;
#                          about 50 minutes on 2 cores. cluster: vgg16-seed and vgg16-cifar on
#                          CIFAR-100 (jobs/train-vgg16-seed.ini, jobs/granularity-study-vgg16-seed.ini),
#                          tasks of 5 ranks x 8 CPUs; give --data.dir after --
#   --sizes "..."          block sizes, one array task each (cpu: "16 32 64 128", which tile
#                          vgg-mini's 1024 x 6272 layer; cluster: "16 32 64 128 256")
#   --rates "..."          drop rates (default "0.5 0.9 0.99")
#   --archs "..."          victims (default: the preset's)
#   --out DIR              the study's folder (default runs/study); the models go to DIR/models
#   --wait                 wait for the analysis job and print the report (or the failed job's log)
set -euo pipefail

usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
command=study preset=cpu sizes="" rates="" archs="" out="" wait=false
while [[ $# -gt 0 ]]; do
  case $1 in
    --command) command=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    --archs) archs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --wait) wait=true; shift ;;
    --help|-h) usage 0 ;;
    --) shift; break ;;
    *) echo "jobs/granularity-study.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case $command:$preset in
  study:*) rates=${rates:-"0.5 0.9 0.99"} out=${out:-runs/study} ;;
  threshold:cpu) rates=${rates:-"0.9 0.5 0"} out=${out:-runs/threshold} sizes=${sizes:-"8 16 32 64 128"} ;;
  threshold:*) echo "jobs/granularity-study.sh: --command threshold: the cpu preset only, got --preset '$preset'" >&2
               exit 2 ;;
  *) echo "jobs/granularity-study.sh: --command: study or threshold, got '$command'" >&2; exit 2 ;;
esac
case $preset in
  cpu) train_config=jobs/quickstart.ini study_config=jobs/granularity-study.ini
       [[ $command == threshold ]] && study_config=jobs/granularity-threshold.ini
       archs=${archs:-"vgg-mini vgg-mini-seedpool"} task_sbatch="" sizes=${sizes:-"16 32 64 128"} ;;
  cluster) train_config=jobs/train-vgg16-seed.ini study_config=jobs/granularity-study-vgg16-seed.ini
           archs=${archs:-"vgg16-seed vgg16-cifar"} task_sbatch="--ntasks=5 --cpus-per-task=8 --time=48:00:00"
           sizes=${sizes:-"16 32 64 128 256"} ;;
  *) echo "jobs/granularity-study.sh: --preset: cpu or cluster, got '$preset'" >&2; exit 2 ;;
esac
[[ -f slurm/env.sh ]] || { echo "jobs/granularity-study.sh: run it from the tessera checkout" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "jobs/granularity-study.sh: no sbatch on the PATH (is Slurm set up?)" >&2; exit 2; }

source slurm/study.sh
mapfile -t train_options < <(study_options train "$@")
mkdir -p "$out/models" "$out/logs"
train_jobs=() models=()
for arch in $archs; do
  # --train.reuse: a model already trained with these settings is kept, so a second
  # study on the same victims starts at once.
  train_jobs+=("$(sbatch --parsable --job-name="train-$arch" --output="$out/logs/%x-%j.out" slurm/tessera.sbatch \
    train --config "$train_config" --model.arch="$arch" --run.out="$out/models" --train.reuse=true "${train_options[@]}")")
  models+=("$out/models/$arch.h5")
done
after=$(IFS=:; echo "${train_jobs[*]}")
echo "jobs/granularity-study.sh: training ${archs} (jobs ${train_jobs[*]})"
submitted=$(slurm/granularity.sh --after "$after" --out "$out" --sizes "$sizes" --rates "$rates" \
  --models "${models[*]}" --sbatch "$task_sbatch" "$command" --config "$study_config" "$@")
echo "$submitted"
analysis_job=$(sed -n 's/^analysis_job=//p' <<<"$submitted")
array_job=$(sed -n 's/^array_job=//p' <<<"$submitted")
[[ $wait == true ]] || exit 0

while [[ -n $(squeue -h -j "$analysis_job" 2>/dev/null) ]]; do sleep 5; done
report=$out/study-$array_job-report.md
[[ $command == threshold ]] && report=$out/threshold-$array_job.md
if [[ -f $report ]]; then
  cat "$report"
else
  echo "jobs/granularity-study.sh: no report; the logs in $out/logs say why:" >&2
  tail -n 5 "$out"/logs/*.out >&2
  exit 1
fi
