#!/usr/bin/env bash
# End-to-end tests of the benchmarks' harness: `bench streams` (one process, vgg-mini
# in 64x64 blocks, 1574 devices) prints its table as Markdown and writes
# out/streams.h5, which analysis/bench_table.py prints back as the same table, with a
# row per eavesdropper (the learned one too) whose numbers hold on the plain trace;
# `bench packets` on 2 ranks is written by the rank that measures; a folder in the
# way of the file stops a benchmark before it measures (one line, no file), as does a
# --bench.held that is not a list of fractions.
#
# usage: bench.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
BENCH_TABLE=$(realpath "$(dirname "$0")/../../analysis/bench_table.py")

# The cells of the Markdown rows of a text (the header included, the separator not),
# one row per line, cells stripped and joined by '|'.
table_cells() { grep '^|' | grep -v '^[-:| ]*$' | sed -e 's/^| *//' -e 's/ *|$//' -e 's/ *| */|/g'; }

new_case
RANKS=1 run_tessera bench streams --bench.block_sizes=64 --bench.repeats=1 --run.out=out
expect_all_ranks_succeeded
if [[ -s $case_dir/out/streams.h5 ]]; then
  "$PYTHON" "$BENCH_TABLE" "$case_dir/out/streams.h5" >"$case_dir/table.md" 2>&1 ||
    reasons+=("bench_table.py: $(cat "$case_dir/table.md")")
  printed=$(table_cells <"$log")
  regenerated=$(table_cells <"$case_dir/table.md")
  [[ -n $printed && $printed == "$regenerated" ]] ||
    reasons+=("the printed table and bench_table.py's differ: $(diff <(echo "$printed") <(echo "$regenerated") | head -5)")
  out=$("$PYTHON" - "$case_dir/out/streams.h5" <<'PY' 2>&1
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
problems = []
if f.attrs["command"] != "bench streams": problems.append("command %s" % f.attrs["command"])
t = f["bench/divisions"]
methods = list(t.attrs["method"])
expected = ["sequential", "flattened", "depth", "first-arrival", "first-departure", "sizes", "structure", "spectral",
            "first-arrival-k", "spectral-k", "learned"]
if methods != expected: problems.append("methods %s" % methods)
if list(t.attrs["columns"])[:2] != ["devices", "streams"]: problems.append("columns %s" % list(t.attrs["columns"]))
if set(t.attrs["devices"]) != {1574}: problems.append("devices %s" % set(t.attrs["devices"]))
ari = dict(zip(methods, t.attrs["adjusted_rand_index"]))
# The plain trace: the paper's Algorithm 1 and the timing eavesdroppers divide it exactly.
for m in ("sequential", "first-arrival", "first-arrival-k", "spectral-k"):
    if ari[m] != 1.0: problems.append("%s reads the plain trace at %.3f" % (m, ari[m]))
seconds = t.attrs["seconds"]
if not ((seconds > 0) & (seconds < 60)).all(): problems.append("seconds %s" % seconds)
if not list(f["bench"].attrs["notes"]): problems.append("no notes")
print("%d rows; sequential %.3f, spectral %.3f, learned %.3f; slowest %.3f s" % (
    len(methods), ari["sequential"], ari["spectral"], ari["learned"], seconds.max()))
for p in problems: print("PROBLEM", p)
sys.exit(1 if problems else 0)
PY
) || reasons+=("streams.h5: $(echo $out)")
  echo "     $out"
  # A page's generated part: written by --into, equal under --check, and a changed
  # cell makes --check fail naming the page (the test docs_measured relies on it).
  page=$case_dir/page.md
  printf 'before\n%s\nstale\n%s\nafter\n' \
    "<!-- the tables below are generated: python3 analysis/bench_table.py FILES --into THIS_FILE -->" \
    "<!-- end of the generated tables -->" >"$page"
  "$PYTHON" "$BENCH_TABLE" "$case_dir/out/streams.h5" --into "$page" >/dev/null 2>&1 || reasons+=("--into failed")
  [[ $(head -n 1 "$page") == before && $(tail -n 1 "$page") == after ]] && ! grep -q stale "$page" &&
    [[ $(table_cells <"$page") == "$regenerated" ]] || reasons+=("--into did not replace just the generated part")
  "$PYTHON" "$BENCH_TABLE" "$case_dir/out/streams.h5" --check "$page" >/dev/null 2>&1 ||
    reasons+=("--check refused the page --into wrote")
  sed -i 's/| sequential /| sequentiel /' "$page"
  if "$PYTHON" "$BENCH_TABLE" "$case_dir/out/streams.h5" --check "$page" >"$case_dir/check.log" 2>&1; then
    reasons+=("--check accepted a changed table")
  else
    grep -q "page.md: its generated tables differ" "$case_dir/check.log" || reasons+=("--check: $(cat "$case_dir/check.log")")
  fi
else
  reasons+=("no out/streams.h5")
fi
finish_case "bench streams: a Markdown table printed, its file read back as the same table, a page's part regenerated and checked"

new_case
run_tessera bench packets --bench.packets=5 --bench.message_bytes=64,4096 --run.out=out
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir/out/packets.h5" <<'PY' 2>&1
import sys, h5py
f = h5py.File(sys.argv[1], "r")
t = f["bench/hops"]
problems = []
if list(t.attrs["message_bytes"]) != [64, 4096]: problems.append("sizes %s" % list(t.attrs["message_bytes"]))
if not (t.attrs["packet_bytes"] > t.attrs["message_bytes"]).all(): problems.append("a packet smaller than its message")
if not (t.attrs["keyed_hop_us"] > 0).all(): problems.append("hop times %s" % t.attrs["keyed_hop_us"])
print("packets of %s bytes" % list(t.attrs["packet_bytes"]))
for p in problems: print("PROBLEM", p)
sys.exit(1 if problems else 0)
PY
) || reasons+=("packets.h5: $(echo $out)")
echo "     $out"
finish_case "bench packets on 2 ranks: rank 0 measures and writes"

new_case
mkdir -p "$case_dir/out/packets.h5"
bad_case "a folder in the way of the benchmark's file" out/packets.h5 "folder" -- \
  bench packets --bench.packets=1 --run.out=out

# --bench.held is read alike by bench fitness and bench sinkhorn: a list of fractions.
new_case
bad_case "a held share that is not a fraction" --bench.held "'abc'" -- \
  bench sinkhorn --bench.held=0.1,abc --run.out=out
new_case
bad_case "a held share above 1" --bench.held "'2'" -- bench fitness --bench.held=0.1,2 --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
