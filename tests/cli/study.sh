#!/usr/bin/env bash
# The granularity study through its Slurm scripts on a real one-node Slurm
# (slurm/local-cluster.sh), on a reduced grid: jobs/granularity-study.sh trains a
# small vgg-mini, runs the study array (searches at two block sizes and two drop
# rates, then the fine-tunes) and the analysis job; the merged file holds every run
# with its search's record and the seed formula's verdict, and analysis/report.py's
# figure and table are written with one row per (block size, drop rate). Needs root.
#
# usage: study.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
REPO=$(realpath "$(dirname "$0")/../..")
start_local_slurm

# --- the reduced grid: vgg-mini on 4096 images, 64x64 and 128x128 blocks, drop 0.9 and 0.99
new_case
study_out=$case_dir/out
log=$case_dir.log
(cd "$REPO" && timeout 1200 jobs/granularity-study.sh --archs vgg-mini --sizes "64 128" --rates "0.9 0.99" \
   --out "$case_dir/out" --wait -- --data.train_limit=4096 --data.test_limit=500 --adversary.public=2048 \
   --attack.time_budget=3 --train.epochs=1) >"$log" 2>&1 || reasons+=("the study did not finish with a report")
array_job=$(sed -n 's/^array_job=//p' "$log")
status="array $array_job"
out=$("$PYTHON" - "$case_dir/out" "$array_job" 2>&1 <<'CHECK'
import os, sys, h5py, numpy as np
folder, array = sys.argv[1], sys.argv[2]
def fail(*what):
    print("PROBLEM", *what); sys.exit(1)
merged = os.path.join(folder, f"study-{array}.h5")
if not os.path.isfile(merged): fail("no merged file")
rows = []
with h5py.File(merged, "r") as f:
    if sorted(f["runs"]) != [f"study-{array}_0-vgg-mini", f"study-{array}_1-vgg-mini"]: fail("runs", sorted(f["runs"]))
    for task, size in enumerate((64, 128)):
        top = f[f"runs/study-{array}_{task}-vgg-mini/finetune"]
        stolen = {n: g for n, g in top.items() if g.attrs["arm"] in ("stolen", b"stolen")}
        if len(stolen) != 2: fail("task", task, "has stolen runs", sorted(stolen))
        for name, g in stolen.items():
            if (g.attrs["bh"], g.attrs["bw"]) != (size, size): fail(name, "blocks", g.attrs["bh"])
            blocks = -(-1024 // size) * -(-6272 // size)
            if g.attrs["blocks"] != blocks: fail(name, g.attrs["blocks"], "blocks, expected", blocks)
            rate = float(g.attrs["drop_rate"])
            if rate not in (0.9, 0.99): fail(name, "drop rate", rate)
            # the search held the drop sweep's share of the blocks
            if abs(g.attrs["held"] / blocks - (1 - rate)) > 0.02: fail(name, "held", g.attrs["held"], "of", blocks)
            for key in ("search_seconds", "search_method", "formula_feasible", "formula_smallest_infeasible"):
                if key not in g.attrs: fail(name, "has no", key)
            if not 0 <= g.attrs["position_recovery"] <= 1: fail(name, "recovery", g.attrs["position_recovery"])
            rows.append((size, rate))
report = os.path.join(folder, f"study-{array}-report.md")
for path in (report, os.path.join(folder, f"study-{array}-report.png")):
    if not os.path.isfile(path) or os.path.getsize(path) == 0: fail("no", path)
table = [l for l in open(report) if l.startswith("| vgg-mini")]
if len(table) != 4: fail("the report's table has", len(table), "rows for vgg-mini, not 4")
print("4 runs merged and reported:", sorted(rows))
CHECK
) || reasons+=("results: $out")
echo "     $out"
finish_case "the study on the reduced grid: searches, fine-tunes, merge, report"

# --- the granularity threshold on a reduced grid, in the same folder (its victim is
# the study's, reused): surrogate templates at 32x32 and 64x64 blocks, 10% and all held
new_case
log=$case_dir.log
(cd "$REPO" && timeout 1200 jobs/granularity-threshold.sh --archs vgg-mini --sizes "32 64" --rates "0.9 0" \
   --out "$study_out" --wait -- --data.train_limit=4096 --data.test_limit=500 --adversary.public=2048 \
   --surrogate.count=1) >"$log" 2>&1 || reasons+=("the threshold job did not finish with a table")
grep -q "reused" "$study_out"/logs/train-vgg-mini-*.out || reasons+=("the study's victim was not reused")
array_job=$(sed -n 's/^array_job=//p' "$log")
status="array $array_job"
out=$("$PYTHON" - "$study_out" "$array_job" 2>&1 <<'CHECK'
import os, sys, h5py
folder, array = sys.argv[1], sys.argv[2]
def fail(*what):
    print("PROBLEM", *what); sys.exit(1)
merged = os.path.join(folder, f"threshold-{array}.h5")
if not os.path.isfile(merged): fail("no merged file")
seen = []
with h5py.File(merged, "r") as f:
    for task, size in enumerate((32, 64)):
        for rate in ("0.9", "0"):
            g = f[f"runs/threshold-{array}_{task}-vgg-mini-drop-{rate}/attack/vgg-mini-drop-{rate}"]
            a = g.attrs
            method = a["method"].decode() if isinstance(a["method"], bytes) else a["method"]
            if method != "surrogate" or (a["bh"], a["bw"]) != (size, size): fail("run", size, rate, method, a["bh"])
            blocks = (1024 // size) * (6272 // size)
            if a["blocks"] != blocks or abs(a["held"] / blocks - (1 - float(rate))) > 0.02: fail("held", a["held"], blocks)
            if a["public_images"] != 2048 or a["surrogate_count"] != 1: fail("settings", a["public_images"])
            if not 0 <= g["position_recovery"][-1] <= 1: fail("recovery", g["position_recovery"][-1])
            seen.append((blocks, rate))
for suffix in ("png", "md", "txt"):
    path = os.path.join(folder, f"threshold-{array}.{suffix}")
    if not os.path.isfile(path) or os.path.getsize(path) == 0: fail("no", path)
table = [l for l in open(os.path.join(folder, f"threshold-{array}.md")) if l.startswith("| vgg-mini")]
if len(table) != 4: fail("the table has", len(table), "rows, not 4")
if "measured:" not in open(os.path.join(folder, f"threshold-{array}.txt")).read(): fail("no measured threshold")
print("4 runs merged, drawn and tabled:", sorted(seen))
CHECK
) || reasons+=("results: $out")
echo "     $out"
finish_case "the granularity threshold on the reduced grid: searches, merge, figure, table"

# --- bad input to the scripts: one line, nothing submitted
new_case
log=$case_dir.log
(cd "$REPO" && jobs/granularity-study.sh --preset gpu) >"$log" 2>&1 && reasons+=("an unknown preset was accepted")
grep -q "\-\-preset: cpu or cluster, got 'gpu'" "$log" || reasons+=("no clear line for the preset: $(cat "$log")")
(cd "$REPO" && jobs/granularity-threshold.sh --preset cluster) >>"$log" 2>&1 && reasons+=("a threshold on the cluster preset was accepted")
grep -q "command threshold: the cpu preset only" "$log" || reasons+=("no clear line for the threshold's preset")
(cd "$REPO" && slurm/granularity.sh study --config jobs/granularity-study.ini) >>"$log" 2>&1 &&
  reasons+=("a study without --models was accepted")
grep -q "study: --models missing" "$log" || reasons+=("no clear line for the missing models")
(cd "$REPO" && slurm/granularity.sh --models m.h5 --rates "0.5 1.5" study) >>"$log" 2>&1 &&
  reasons+=("a drop rate of 1.5 was accepted")
grep -q "'1.5' is not a drop rate" "$log" || reasons+=("no clear line for the drop rate")
status="$(squeue -h | wc -l) jobs queued"
[[ $(squeue -h | wc -l) -eq 0 ]] || reasons+=("jobs were submitted: $(squeue -h)")
finish_case "bad options to the study scripts"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
