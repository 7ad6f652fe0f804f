#!/usr/bin/env bash
# End-to-end tests of `tessera streams analyze` on 2 ranks: on a served vgg-mini's
# trace both algorithms and the depth eavesdropper recover every layer (the layers
# that are not cut are single devices, so the division is exact by construction);
# with two adjacent layers cut, only the depth eavesdropper still does, on every view
# and in both phases; the same run twice writes the same file, a trace written by
# someone else (no attrs, h5py) is read, and bad input fails cleanly (one line, every
# rank non-zero, no file).
#
# usage: streams.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

# check_streams FILE RUN KEY=VALUE...: the attrs of /streams/RUN hold at least these values.
check_streams() {
  local out
  out=$("$PYTHON" - "$@" <<'PY' 2>&1
import sys, h5py
f = h5py.File(sys.argv[1], "r")
g = f["streams/" + sys.argv[2]]
problems = []
for item in sys.argv[3:]:
    key, want = item.split("=")
    have = g.attrs[key]
    if isinstance(have, bytes): have = have.decode()
    ok = abs(float(have) - float(want)) < 1e-9 if want.replace(".", "").replace("-", "").isdigit() else str(have) == want
    if not ok: problems.append("%s = %s, expected %s" % (key, have, want))
if len(g["group"]) != int(g.attrs["devices"]): problems.append("group has %d entries" % len(g["group"]))
print("groups %d, pivots %d, ARI %s" % (g.attrs["groups"], len(g["pivots"]), g.attrs.get("adjusted_rand_index", "-")))
for p in problems: print("PROBLEM", p)
sys.exit(1 if problems else 0)
PY
  ) || reasons+=("check of $1: $(echo $out)")
  echo "     $(echo "$out" | tr '\n' ' ')"
}

# --- a served vgg-mini: classifier.0 in 64x64 blocks on 1568 devices, 1574 devices in all
make_served_trace

# Algorithm 1: the chain of single-device layers are the cut vertices (k = 1); all
# 1568 block devices (row owners included) lie between features.6 and classifier.3.
new_case
run_tessera streams analyze --streams.trace="$TRACE" --run.out=out
expect_all_ranks_succeeded
check_streams "$case_dir/out/streams.h5" sequential-ordered connectivity=1 groups=7 layers=7 \
  adjusted_rand_index=1 exact_fraction=1 devices=1574 streams=3140
cp "$case_dir/out/streams.h5" "$ROOT/first.h5"
"$PYTHON" "$(dirname "$0")/../../analysis/plot_streams.py" "$case_dir/out/streams.h5" --out "$case_dir/streams.png" \
  >/dev/null 2>&1 && [[ -s $case_dir/streams.png ]] || reasons+=("analysis/plot_streams.py drew nothing")
finish_case "sequential division of a served trace, and its figure"

new_case
run_tessera streams analyze --streams.trace="$TRACE" --run.out=out
expect_all_ranks_succeeded
same=$("$PYTHON" "$SAME_H5" "$ROOT/first.h5" "$case_dir/out/streams.h5" --ignore created_utc 2>&1) ||
  reasons+=("a second run wrote a different file: $same")
echo "     $same"
finish_case "the same run twice, the same file"

# --- streams.h5 collects runs: a second run is added beside the first; one of the
# same name is refused with the file kept byte for byte.
new_case
run_tessera streams analyze --streams.trace="$TRACE" --run.out=out
expect_all_ranks_succeeded
run_tessera streams analyze --streams.trace="$TRACE" --streams.method=depth --run.out=out
expect_all_ranks_succeeded
cp "$case_dir/out/streams.h5" "$case_dir/two-runs.h5"
run_tessera streams analyze --streams.trace="$TRACE" --streams.method=depth --run.out=out
expect_all_ranks_failed
expect_one_message "holds /streams/depth-ordered already" "--streams.run" "--streams.replace=true"
cmp -s "$case_dir/out/streams.h5" "$case_dir/two-runs.h5" || reasons+=("a refused run changed the file")
out=$("$PYTHON" - "$ROOT/first.h5" "$case_dir/out/streams.h5" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as first, h5py.File(sys.argv[2], "r") as both:
    if sorted(both["streams"]) != ["depth-ordered", "sequential-ordered"]: print("PROBLEM runs", sorted(both["streams"])); sys.exit(1)
    if not np.array_equal(first["streams/sequential-ordered/group"][:], both["streams/sequential-ordered/group"][:]):
        print("PROBLEM the first run changed"); sys.exit(1)
    print("runs:", ", ".join(sorted(both["streams"])))
CHECK
) || reasons+=("collect: $out")
echo "     $out"
finish_case "streams.h5 collects runs: added beside the first, the same name refused"

new_case
run_tessera streams analyze --streams.trace="$TRACE" --streams.view=timed --run.out=out
expect_all_ranks_succeeded
check_streams "$case_dir/out/streams.h5" sequential-timed connectivity=1 groups=7 adjusted_rand_index=1 exact_fraction=1
finish_case "sequential division on the timed view"

# Algorithm 2 on the flat and edges views: the blocks' reachable counts (3, their row
# owners 2) are seen 1552 and 16 times, every other count once: with th = 2 those are
# the pivots, and both block counts fall between the same two pivot counts.
for view in flat edges; do
  new_case
  run_tessera streams analyze --streams.trace="$TRACE" --streams.method=flattened --streams.view=$view --run.out=out
  expect_all_ranks_succeeded
  check_streams "$case_dir/out/streams.h5" flattened-$view groups=7 adjusted_rand_index=1 exact_fraction=1 th=2
  finish_case "flattened division, $view view"
done

# A threshold above every count's frequency: each count is a group, so the row owners
# are split from the other block devices (8 groups, 7 layers).
new_case
run_tessera streams analyze --streams.trace="$TRACE" --streams.method=flattened --streams.view=flat \
  --streams.th=2000 --streams.run=high --run.out=out
expect_all_ranks_succeeded
check_streams "$case_dir/out/streams.h5" high groups=8 layers=7
finish_case "flattened division, threshold above every frequency"

# --- classifier.0 and classifier.3 cut (64x64 blocks), trained two steps: the row
# owners of classifier.0 feed classifier.3's blocks directly, so no single device
# separates the two layers. Algorithms 1 and 2 merge them (their ARI is printed); the
# depth eavesdropper divides every view and both phases exactly.
new_case
run_tessera serve --model.checkpoint="$MODEL" --blocks.layers=classifier.0,classifier.3 --serve.mode=train \
  --serve.steps=2 --serve.batch=32 --run.out="$FIXTURES/two"
expect_all_ranks_succeeded
TWO=$FIXTURES/two/serve.h5
finish_case "served trace, two adjacent layers cut"
for view in timed ordered flat edges; do
  for phase in forward backward; do
    new_case
    run_tessera streams analyze --streams.trace="$TWO" --streams.method=depth --streams.view=$view \
      --streams.phase=$phase --run.out=out
    expect_all_ranks_succeeded
    check_streams "$case_dir/out/streams.h5" depth-$view groups=7 layers=7 adjusted_rand_index=1 exact_fraction=1
    finish_case "depth division, two layers cut, $view view, $phase"
  done
done
# The timing eavesdroppers: a layer's devices get their input at one moment, and
# layers are a compute and a transfer apart, so the first arrivals divide both served
# traces exactly, with the number of groups found from the gaps.
for trace in "$TRACE" "$TWO"; do
  new_case
  run_tessera streams analyze --streams.trace="$trace" --streams.method=first-arrival --streams.view=timed \
    --run.out=out
  expect_all_ranks_succeeded
  check_streams "$case_dir/out/streams.h5" first-arrival-timed groups=7 layers=7 adjusted_rand_index=1 exact_fraction=1
  finish_case "first-arrival division of $(basename "$(dirname "$trace")")/serve.h5, timed view"
done
for method in "sequential --streams.view=timed" "flattened --streams.view=flat"; do
  new_case
  run_tessera streams analyze --streams.trace="$TWO" --streams.method=$method --streams.run=baseline --run.out=out
  expect_all_ranks_succeeded
  check_streams "$case_dir/out/streams.h5" baseline layers=7
  finish_case "the paper's algorithm ${method%% *}, two layers cut (reported)"
done

# --- a trace written by someone else: the schema's columns only (no attrs, no truth).
# entry 0 -> 1 -> {2, 3, 4} -> 5 -> exit 6; the entry and exit are found as the only
# device that only sends and the only one that only receives.
# write_hand_trace FILE KIND: a trace in the schema's columns only, written by h5py.
# foreign: a good one; the others are bad: a stream naming a device the attr does not
# have, a cycle, no single device that only sends, times without their pair, a
# deployment without bandwidth, a true layer beyond the device count.
write_hand_trace() {
  "$PYTHON" - "$@" <<'PY'
import sys, h5py, numpy as np
arcs = {"foreign": [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5), (5, 6)],
        "dangling": [(0, 1), (1, 9)], "cycle": [(0, 1), (1, 2), (2, 3), (3, 1), (2, 4)],
        "no_entry": [(0, 2), (1, 2), (2, 3)], "half_times": [(0, 1), (1, 2)],
        "no_bandwidth": [(0, 1), (1, 2)], "wild_truth": [(0, 1), (1, 2)]}[sys.argv[2]]
with h5py.File(sys.argv[1], "w") as f:
    t = f.create_group("trace")
    n = len(arcs)
    for name, values in [("step", [0] * n), ("phase", [0] * n), ("seq", range(n)), ("src", [a for a, b in arcs]),
                         ("dst", [b for a, b in arcs]), ("bytes", [4] * n)]:
        t.create_dataset(name, data=np.array(list(values), dtype=np.int64))
    if sys.argv[2] == "dangling": t.attrs["devices"] = 5
    if sys.argv[2] == "half_times": t.create_dataset("t_start", data=np.zeros(n))
    if sys.argv[2] == "no_bandwidth":
        t.attrs.update({"device_flops": 1e10, "latency": 1e-3, "bandwidth": 0.0, "jitter": 0.1})
    if sys.argv[2] == "wild_truth": t.create_dataset("truth/device_layer", data=np.array([0, 1, 10**12]))
PY
}

new_case
write_hand_trace "$case_dir/foreign.h5" foreign
run_tessera streams analyze --streams.trace=foreign.h5 --run.out=out
expect_all_ranks_succeeded
check_streams "$case_dir/out/streams.h5" sequential-ordered entry=0 exit=6 connectivity=1 groups=5 devices=7
cp "$case_dir/foreign.h5" "$FIXTURES/foreign.h5"
finish_case "a trace in the schema written by h5py"

# Bad traces written by hand (write_hand_trace).
for kind in "dangling|device 9 of 5" "cycle|cycle" "no_entry|only send" "half_times|t_end" \
  "no_bandwidth|bandwidth 0" "wild_truth|layer 1000000000000"; do
  new_case
  write_hand_trace "$FIXTURES/${kind%%|*}.h5" "${kind%%|*}"
  bad_case "a trace with ${kind%%|*}" "${kind%%|*}.h5'" "${kind#*|}" -- \
    streams analyze --streams.trace="$FIXTURES/${kind%%|*}.h5" --run.out=out
done

# --- bad input: one line, every rank non-zero, no file
new_case
bad_case "no trace given" --streams.trace -- streams analyze --run.out=out
new_case
bad_case "a trace file that does not exist" --streams.trace "'nothing.h5'" -- \
  streams analyze --streams.trace=nothing.h5 --run.out=out
new_case
# (input files live with the fixtures: the case folder must stay empty)
"$PYTHON" -c "import h5py; h5py.File('$FIXTURES/empty.h5', 'w').create_group('other')"
bad_case "a file without /trace" "empty.h5'" "/trace" -- streams analyze --streams.trace="$FIXTURES/empty.h5" --run.out=out
new_case
"$PYTHON" - "$FIXTURES/short.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    for name in ["step", "phase", "seq", "src", "dst"]: f.create_dataset("trace/" + name, data=np.zeros(3, np.int64))
    f.create_dataset("trace/bytes", data=np.zeros(2, np.int64))
PY
bad_case "columns of different lengths" "short.h5'" "/trace/bytes" -- \
  streams analyze --streams.trace="$FIXTURES/short.h5" --run.out=out
new_case
bad_case "Algorithm 1 without the order of the streams" --streams.view=timed -- \
  streams analyze --streams.trace="$TRACE" --streams.view=flat --run.out=out
new_case
bad_case "a timing eavesdropper without the order of the streams" --streams.method=first-arrival --streams.view=timed -- \
  streams analyze --streams.trace="$TRACE" --streams.method=first-arrival --streams.view=flat --run.out=out
new_case
bad_case "an unknown method" --streams.method "'telepathy'" -- \
  streams analyze --streams.trace="$TRACE" --streams.method=telepathy --run.out=out
new_case
bad_case "an unknown view" --streams.view "'hidden'" -- \
  streams analyze --streams.trace="$TRACE" --streams.view=hidden --run.out=out
new_case
bad_case "the timed view of a trace without times" "foreign.h5'" "t_start" -- \
  streams analyze --streams.trace="$FIXTURES/foreign.h5" --streams.view=timed --run.out=out
new_case
bad_case "threshold 0" --streams.th -- \
  streams analyze --streams.trace="$TRACE" --streams.method=flattened --streams.view=flat --streams.th=0 --run.out=out
new_case
bad_case "a step that was not traced" --streams.step "no streams" -- \
  streams analyze --streams.trace="$TRACE" --streams.step=3 --run.out=out
new_case
bad_case "an inference trace has no backward phase" "no streams" "phase 1" -- \
  streams analyze --streams.trace="$TRACE" --streams.phase=backward --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
