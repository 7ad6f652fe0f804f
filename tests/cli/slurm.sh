#!/usr/bin/env bash
# The batch scripts on a real one-node Slurm (munged, slurmctld, slurmd started by
# slurm/local-cluster.sh): the granularity job array with its dependent analysis
# job, every task's HDF5 file and the figure checked; and a clean stop when Slurm
# signals a running sweep. Needs root, as CI runs it.
#
# usage: slurm.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
REPO=$(realpath "$(dirname "$0")/../..")
start_local_slurm
JOB_LIMIT_S=600

# Waits until job (or array) $1 has left the queue; false after JOB_LIMIT_S, or at
# once when Slurm says the job can never run here.
wait_for_job() {
  local waited=0 reasons
  while reasons=$(squeue -h -j "$1" -o %r 2>/dev/null) && [[ -n $reasons ]]; do
    if grep -qE 'PartitionConfig|PartitionNodeLimit|BadConstraints|ReqNodeNotAvail' <<<"$reasons"; then
      echo "     job $1 can never start: $(echo $reasons)"
      return 1
    fi
    ((waited++ < JOB_LIMIT_S)) || return 1
    sleep 1
  done
}

# "STATE EXITCODE" of every record of job $1 (one per array task), sorted.
job_states() {
  scontrol show job -o "$1" | sed -E 's/.*JobState=([A-Z_]+).*ExitCode=([0-9:]+).*/\1 \2/' | sort
}

# --- a small vgg-mini model file (1 epoch on 2048 images)
make_small_vgg_mini 2048

# --- the granularity array (block sizes 16..256) and the analysis job after it
new_case
sizes=(16 32 64 128 256)
# A grid long enough that a task is still running when the requeue case below reaches it.
sweep=(drop --model.checkpoint="$MODEL" --drop.rates=0:1:0.02 --attack.repeats=2 --attack.eval_images=1000
       --run.checkpoint_seconds=0)
(cd "$REPO" && slurm/granularity.sh --out "$case_dir/out" "${sweep[@]}") >"$case_dir.log" 2>&1
uninterrupted=$case_dir/out
log=$case_dir.log
array_job=$(sed -n 's/^array_job=//p' "$log")
analysis_job=$(sed -n 's/^analysis_job=//p' "$log")
status="array $array_job, analysis $analysis_job"
if [[ -z $array_job || -z $analysis_job ]]; then
  reasons+=("slurm/granularity.sh did not submit both jobs")
else
  wait_for_job "$analysis_job" || reasons+=("the analysis job did not end within ${JOB_LIMIT_S}s")
  states=$(job_states "$array_job")
  [[ $(grep -c '^COMPLETED 0:0$' <<<"$states") -eq ${#sizes[@]} ]] ||
    reasons+=("array tasks did not all complete: $(echo $states)")
  [[ $(job_states "$analysis_job") == "COMPLETED 0:0" ]] ||
    reasons+=("analysis job: $(job_states "$analysis_job")")
  out=$("$PYTHON" - "$case_dir/out" "$array_job" "${sizes[@]}" 2>&1 <<'CHECK'
import os, sys, h5py, numpy as np
folder, array, sizes = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]]
def fail(*what):
    print("PROBLEM", *what); sys.exit(1)
summary = []
for task, size in enumerate(sizes):
    path = os.path.join(folder, f"drop-{array}_{task}.h5")
    if not os.path.isfile(path): fail("no file", path)
    with h5py.File(path, "r") as f:
        g = f["drop"]
        if (g.attrs["bh"], g.attrs["bw"]) != (size, size): fail(path, "has blocks", g.attrs["bh"], "x", g.attrs["bw"])
        blocks = -(-1024 // size) * -(-6272 // size)
        if g.attrs["blocks"] != blocks: fail(path, "has", g.attrs["blocks"], "blocks, expected", blocks)
        rates, acc, held = g["rates"][:], g["accuracy"][:], g["held_fraction"][:]
        if acc.shape != (51, 2): fail(path, "accuracy shape", acc.shape)
        zero, half, ninety, full = (int(np.argmin(np.abs(rates - r))) for r in (0, 0.5, 0.9, 1.0))
        if not np.all(held[zero] == 1): fail(path, "not every block held at rate 0:", held[zero])
        if not np.all(np.abs(held[half] - 0.5) < 0.05): fail(path, "held fraction at rate 0.5:", held[half])
        if not np.all(held[full] == 0): fail(path, "blocks held at rate 1:", held[full])
        # Every block at its place is the victim itself (to one flipped near-tie of round-off).
        victim, images = g.attrs["victim_accuracy"], g.attrs["eval_images"]
        if not np.all(np.abs(acc[zero] - victim) <= 1.0 / images + 1e-12): fail(path, "accuracy at rate 0 is", acc[zero], "not the victim's", victim)
        if not acc[full].max() < 0.25: fail(path, "accuracy with nothing held is", acc[full])
        summary.append(f"{size}: {acc[half].mean():.3f}/{acc[ninety].mean():.3f}/{acc[full].mean():.3f}")
merged = os.path.join(folder, f"drop-{array}.h5")
with h5py.File(merged, "r") as f:
    names = sorted(f["runs"])
    if names != sorted(f"drop-{array}_{t}" for t in range(len(sizes))): fail("merged runs", names)
    for t in range(len(sizes)):
        run = f["runs"][f"drop-{array}_{t}"]
        with h5py.File(os.path.join(folder, f"drop-{array}_{t}.h5"), "r") as task:
            if not np.array_equal(run["drop/accuracy"][:], task["drop/accuracy"][:]): fail("merged copy differs", t)
            if run.attrs["config"] != task.attrs["config"]: fail("merged config differs", t)
png = os.path.join(folder, f"drop-{array}.png")
if not os.path.isfile(png) or os.path.getsize(png) < 10000: fail("no figure", png)
print("accuracy at drop 0.5/0.9/1 by block size:", "; ".join(summary))
CHECK
  ) || reasons+=("results: $(echo $out)")
  echo "     $out"
  [[ ${#reasons[@]} -eq 0 ]] || cat "$case_dir"/out/logs/* >>"$log" 2>/dev/null
fi
finish_case "granularity job array, 5 block sizes, then the afterok analysis job"

# --- Slurm signals a running sweep: it stops cleanly, with no file left behind
new_case
log=$case_dir.log
job=$(cd "$REPO" && sbatch --parsable --output="$log" slurm/tessera.sbatch drop --model.checkpoint="$MODEL" \
        --blocks.bh=16 --blocks.bw=16 --drop.rates=0:1:0.002 --run.out="$case_dir/out")
status="job $job"
waited=0
until grep -q '^tessera: drop:' "$log" 2>/dev/null || ((waited++ > JOB_LIMIT_S)); do sleep 1; done
scancel --signal=USR1 "$job"
wait_for_job "$job" || reasons+=("the job did not end within ${JOB_LIMIT_S}s of the signal")
[[ $(job_states "$job") == "FAILED 3:0" ]] || reasons+=("job state, exit code: $(job_states "$job"), expected FAILED 3:0")
grep -q '^tessera drop: stopped: .*SIGUSR1.*finished points kept in' "$log" ||
  reasons+=("no 'stopped ... SIGUSR1 ... finished points kept' line")
left=$(find "$case_dir" -name '*.h5*' ! -name 'drop-vgg-mini.checkpoint.h5' -print)
[[ -z $left ]] || reasons+=("files left behind: $(echo $left)")
[[ -f $case_dir/out/drop-vgg-mini.checkpoint.h5 ]] || reasons+=("no checkpoint kept")
finish_case "scancel --signal=USR1 on a running sweep: clean stop, exit code 3, finished points kept, no partial file"

# --- scontrol requeue of a running array task: it stops, is requeued, continues from
# its checkpoint, and the merged result equals the uninterrupted array's
new_case
(cd "$REPO" && slurm/granularity.sh --sizes 16 --out "$case_dir/out" "${sweep[@]}") >"$case_dir.log" 2>&1
log=$case_dir.log
array_job=$(sed -n 's/^array_job=//p' "$log")
analysis_job=$(sed -n 's/^analysis_job=//p' "$log")
status="array $array_job, analysis $analysis_job"
checkpoint=$case_dir/out/drop-${array_job}_0.checkpoint.h5
waited=0
until [[ -f $checkpoint ]] || ((waited++ > JOB_LIMIT_S * 10)); do sleep 0.1; done
if [[ ! -f $checkpoint ]]; then
  reasons+=("task ${array_job}_0 wrote no checkpoint")
else
  scontrol requeue "${array_job}_0" || reasons+=("scontrol requeue failed")
  wait_for_job "$analysis_job" || reasons+=("the analysis job did not end within ${JOB_LIMIT_S}s")
  [[ $(job_states "$array_job") == "COMPLETED 0:0" ]] || reasons+=("array task: $(job_states "$array_job")")
  [[ $(job_states "$analysis_job") == "COMPLETED 0:0" ]] || reasons+=("analysis job: $(job_states "$analysis_job")")
  scontrol show job -o "$array_job" | grep -q 'Restarts=[1-9]' || reasons+=("the task was not restarted")
  task_log=$(ls "$case_dir"/out/logs/*-"${array_job}"_0.out 2>/dev/null | head -n 1)
  grep -q 'stopped: SIGTERM' "$task_log" 2>/dev/null || reasons+=("the task's log shows no stop on SIGTERM")
  grep -q 'continuing from' "$task_log" 2>/dev/null || reasons+=("the requeued task did not continue from its checkpoint")
  # Names (run.name, run.out) and clocks differ; every number and every other setting must not.
  out=$("$PYTHON" "$SAME_H5" "$case_dir/out/drop-$array_job.h5:runs/drop-${array_job}_0" "$uninterrupted"/drop-*_0.h5 \
          --ignore config created_utc 2>&1 &&
        "$PYTHON" - "$case_dir/out/drop-$array_job.h5" "drop-${array_job}_0" "$uninterrupted"/drop-*_0.h5 2>&1 <<'CHECK'
import sys, h5py
merged, name, reference = sys.argv[1:4]
lines = lambda g: {l for l in g.attrs["config"].splitlines() if not l.startswith(("name =", "out ="))}
if lines(h5py.File(merged, "r")["runs"][name]) != lines(h5py.File(reference, "r")):
    print("PROBLEM configurations differ beyond run.name and run.out"); sys.exit(1)
CHECK
  ) || reasons+=("results: $(echo $out)")
  echo "     $out"
  [[ ${#reasons[@]} -eq 0 ]] || cat "$case_dir"/out/logs/* >>"$log" 2>/dev/null
fi
finish_case "scontrol requeue of a running array task: continues from its checkpoint, same merged result"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
