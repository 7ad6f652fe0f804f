# Sourced by the batch scripts: the checkout to run from, the tessera binary, and
# `run_tessera COMMAND [options]`, which starts one MPI rank per Slurm task.
# sbatch runs a copy of the script from its spool folder, so paths are taken from
# the folder the job was submitted from (SLURM_SUBMIT_DIR), which must be the
# checkout (or set TESSERA_HOME).

TESSERA_HOME=${TESSERA_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
TESSERA=${TESSERA:-$TESSERA_HOME/build/tessera}
TESSERA_PYTHON=${TESSERA_PYTHON:-/usr/bin/python3}
cd "$TESSERA_HOME"
if [[ ! -x $TESSERA ]]; then
  echo "tessera slurm: no executable '$TESSERA' (build first: bash cmake/build.sh; or set TESSERA)" >&2
  exit 2
fi

# One rank per task through PMIx; if one rank fails the step ends at once
# (--kill-on-bad-exit) instead of leaving the others waiting. Each rank uses its
# task's CPUs as LibTorch threads unless the options say otherwise. A sweep or an
# attack runs with --run.resume=true: after a requeue it continues from its
# checkpoint (and a first run, with none, starts from the beginning).
run_tessera() {
  local threads=()
  if [[ " $* " != *" --run.threads"* && -n ${SLURM_CPUS_PER_TASK:-} ]]; then
    threads=(--run.threads="$SLURM_CPUS_PER_TASK")
  fi
  echo "tessera slurm: job ${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ (array task $SLURM_ARRAY_TASK_ID)}" \
    "on ${SLURM_JOB_NODELIST:-$(hostname)}, ${SLURM_NTASKS:-?} tasks: tessera $*"
  local resume=()
  if [[ ${1:-} == drop || ${1:-} == swap || ${1:-} == attack ]] && [[ " $* " != *" --run.resume"* ]]; then
    resume=(--run.resume=true)  # a requeued run continues from its checkpoint
  fi
  srun --mpi=pmix --kill-on-bad-exit=1 "$TESSERA" "$@" "${threads[@]}" "${resume[@]}"
}
