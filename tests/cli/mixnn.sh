#!/usr/bin/env bash
# End-to-end tests of `tessera mixnn` on 8 ranks (the designer and a pool of 7):
# MixNN's accuracy stays within 0.001 of the plain model's in every epoch, every
# packet has one size and arrived, dummies and loops ran; a crash injected mid-epoch
# is detected within T and the run ends within 0.005 of the undisturbed accuracy; a
# Byzantine server is caught by the test-phase check and replaced; the pool's keys
# can be saved and reused; the packet trace goes through `tessera streams analyze`;
# an adversary on parts 2, 4 and 6 of mlp7 solves the honest parts 3 and 5;
# analysis/plot_mixnn.py draws the file; bad input fails cleanly on every rank.
#
# usage: mixnn.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"
REPO=$(realpath "$(dirname "$0")/../..")
# 6400 images: 100 steps of 64 per epoch.
# T at least 1 s: a loaded machine stalls a round trip for longer than the 0.25 s floor.
SMALL=(--train.epochs=2 --data.train_limit=6400 --data.test_limit=2000 --run.threads=1 --mixnn.min_timeout=1)

# check FILE KIND [REFERENCE]: KIND is plain, crash or byzantine; REFERENCE the
# undisturbed run's file.
check() {
  "$PYTHON" - "$@" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
path, kind = sys.argv[1], sys.argv[2]
reference = sys.argv[3] if len(sys.argv) > 3 else None
def fail(*what):
    print("PROBLEM", *what); sys.exit(1)
with h5py.File(path, "r") as f:
    m, t = f["mixnn"], f["trace"]
    e = {k: m["epochs"][k][()] for k in m["epochs"]}
    diff = np.abs(e["mixnn_accuracy"] - e["plain_accuracy"])
    if np.any(diff > 0.001): fail("accuracy differs from the plain model's by", diff)
    if e["mixnn_accuracy"][-1] < 0.6: fail("MixNN did not learn:", e["mixnn_accuracy"])
    if np.any(e["check_deviation"] > 1e-4): fail("accepted test phases deviate", e["check_deviation"])
    sizes = set(t["bytes"][()])
    if sizes != {int(m.attrs["packet_bytes"])}: fail("packet sizes", sizes)
    if not np.all(np.isfinite(t["t_end"][()])): fail("packets sent but never received")
    ops = set(t["op"][()])
    if not {0, 1, 2, 3, 4, 5} <= ops: fail("ops on the wire", ops)
    if m.attrs["loops_sent"] < 50 or m.attrs["loops_returned"] != m.attrs["loops_sent"]:
        fail("loops", m.attrs["loops_sent"], m.attrs["loops_returned"])
    if np.any(m["hops"]["rejected"][()] != 0): fail("authentic packets rejected", m["hops"]["rejected"][()])
    parts = m["truth"]["cascade_parts"][()]
    if sorted(parts[0]) != [-1, -1, 0, 1, 2]: fail("first cascade", parts[0])
    fl = {k: m["failures"][k][()] for k in m["failures"]}
    T = float(m.attrs["timeout_seconds"])
    if kind == "plain":
        if len(fl["kind"]): fail("failures in an undisturbed run", fl)
    else:
        want = 0 if kind == "crash" else 1
        rank = int(m.attrs["crash_injected_rank" if kind == "crash" else "byzantine_injected_rank"])
        if list(fl["kind"]) != [want]: fail("failures", fl["kind"], "expected one of kind", want)
        if rank not in fl["removed_ranks"]: fail("the injected rank", rank, "was not taken out:", fl["removed_ranks"])
        if list(e["attempts"]) != [1, 2]: fail("attempts per epoch", e["attempts"])
        ranks = m["truth"]["cascade_ranks"][()]
        if len(ranks) != 2 or rank in ranks[1]: fail("the new cascade", ranks)
        delay = fl["detected_at"][0] - fl["injected_at"][0]
        if kind == "crash" and not (0 <= delay <= T + 0.05): fail("crash detected after", delay, "s, T =", T)
        with h5py.File(reference, "r") as r:
            undisturbed = r["mixnn/epochs/mixnn_accuracy"][-1]
        if abs(e["mixnn_accuracy"][-1] - undisturbed) > 0.005:
            fail("final accuracy", e["mixnn_accuracy"][-1], "undisturbed", undisturbed)
        print(f"{kind}: detected {delay:.3f} s after the injection (T {T:.3f} s), final accuracy",
              e["mixnn_accuracy"][-1], "undisturbed", undisturbed)
    print("accuracy per epoch", e["mixnn_accuracy"], "plain", e["plain_accuracy"],
          "time ratio", np.round(e["mixnn_seconds"] / e["plain_seconds"], 1))
CHECK
}

# --- undisturbed: 3 layers + 2 dummies from a pool of 7
RANKS=8
new_case
run_tessera mixnn "${SMALL[@]}" --mixnn.save_keys=keys.txt --run.out=out
expect_all_ranks_succeeded
PLAIN=$case_dir/out/mixnn.h5
KEYS=$case_dir/keys.txt
out=$(check "$PLAIN" plain) || reasons+=("$out")
echo "     $out"
[[ $(grep -cE '^[0-9a-f]{64}$' "$KEYS") -eq 7 ]] || reasons+=("the key file does not hold 7 keys")
out=$("$PYTHON" "$REPO/analysis/plot_mixnn.py" "$PLAIN" -o "$case_dir/fig4.png" 2>&1) || reasons+=("plot: $out")
[[ -s $case_dir/fig4.png ]] || reasons+=("plot_mixnn.py wrote no figure")
# The packets go through the eavesdropper of the streams issue, scored against the cascade.
out=$(cd "$case_dir" && "$MPIEXEC" -n 1 "$TESSERA" streams analyze --streams.trace=out/mixnn.h5 \
        --streams.method=depth --streams.view=timed --streams.step=150 --run.out=streams 2>&1)
[[ $out == *"adjusted Rand index"* && -s $case_dir/streams/streams.h5 ]] || reasons+=("streams analyze: $out")
# The command of docs/mixnn.md, Algorithm 1 on the ordered view, at the first steps: loops
# that run against the cascade make cycles, whose backward streams are set aside.
for step in 0 1 2 3 4 5; do
  out=$(cd "$case_dir" && "$MPIEXEC" -n 1 "$TESSERA" streams analyze --streams.trace=out/mixnn.h5 \
          --streams.step=$step --streams.run=step$step --run.out=streams 2>&1)
  [[ $out == *"adjusted Rand index"* ]] || reasons+=("streams analyze at step $step: $out")
done
echo "     Algorithm 1 at steps 0-5: $(cd "$case_dir" && "$PYTHON" -c "
import h5py; f = h5py.File('streams/streams.h5', 'r')
print(sum(int(f['streams/step%d' % s].attrs['streams_set_aside']) for s in range(6)), 'streams set aside')")"
finish_case "MixNN within 0.001 of the plain model, one packet size, loops and dummies"

# --- a crash in epoch 2, on the pool's saved keys
new_case
run_tessera mixnn "${SMALL[@]}" --mixnn.keys="$KEYS" --mixnn.crash=3@150 --run.out=out
expect_all_ranks_succeeded
out=$(check "$case_dir/out/mixnn.h5" crash "$PLAIN") || reasons+=("$out")
echo "     $out"
finish_case "a crash is detected within T and training recovers"

# --- a crash before the round trip is measured: T is still the start-up value; the
# crash costs it once, and the probe that finds the silent server a fraction of it.
new_case
run_tessera mixnn --train.epochs=1 --data.train_limit=3200 --data.test_limit=1000 --run.threads=1 \
  --mixnn.startup_timeout=4 --mixnn.crash=3@5 --run.out=out
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir/out/mixnn.h5" 2>&1 <<'CHECK'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    fl = {k: f["mixnn/failures"][k][()] for k in f["mixnn/failures"]}
    if list(fl["kind"]) != [0] or fl["timeout"][0] != 4: print("PROBLEM failures", fl); sys.exit(1)
    detect, handle = fl["detected_at"][0] - fl["injected_at"][0], fl["handled_at"][0] - fl["detected_at"][0]
    if not 0 <= detect <= 4.5: print("PROBLEM detected", detect, "s after the injection, T = 4 s"); sys.exit(1)
    if not 0 <= handle < 2: print("PROBLEM the new cascade was up", handle, "s after the detection, T = 4 s"); sys.exit(1)
    print(f"detected {detect:.2f} s after the injection, new cascade {handle:.2f} s later (start-up T 4 s)")
CHECK
) || reasons+=("$out")
echo "     $out"
finish_case "a crash before T is measured costs the start-up T once, not twice"

# --- a cascade server killed for real (SIGKILL, its process gone) under
# --enable-recovery: training recovers as from an injected crash, and the ranks alive
# end the run and write the file without it.
new_case
log=$case_dir.log
(cd "$case_dir" && limited "$MPIEXEC" -n "$RANKS" --oversubscribe --enable-recovery \
   sh -c 'echo $$ > pid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"' "$TESSERA" mixnn "${SMALL[@]}" --run.out=out) \
  >"$log" 2>&1 &
runner=$!
waited=0
until grep -q "median round trip" "$log" || ((waited++ > 1200)); do sleep 0.1; done
victim=$(sed -n 's/.*MixNN: cascade \([0-9]*\) .*/\1/p' "$log" | head -n 1)
if [[ -n $victim && -s $case_dir/pid.$victim ]]; then kill -9 "$(cat "$case_dir/pid.$victim")"; else reasons+=("no cascade server to kill"); fi
wait "$runner"
rc=$?
status="mpiexec $rc"
[[ $rc -eq 0 ]] || reasons+=("mpiexec exited $rc after the kill")
grep -q "did not answer the end of the run" "$log" || reasons+=("no line on the rank that died")
out=$("$PYTHON" - "$case_dir/out/mixnn.h5" "$PLAIN" "$victim" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
path, reference, victim = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(path, "r") as f, h5py.File(reference, "r") as r:
    m = f["mixnn"]
    if list(m.attrs["ranks_lost"]) != [victim]: print("PROBLEM ranks lost", m.attrs["ranks_lost"], "killed", victim); sys.exit(1)
    e = {k: m["epochs"][k][()] for k in m["epochs"]}
    if len(e["mixnn_accuracy"]) != 2: print("PROBLEM epochs", e["mixnn_accuracy"]); sys.exit(1)
    if np.any(np.abs(e["mixnn_accuracy"] - e["plain_accuracy"]) > 0.001): print("PROBLEM accuracy", e); sys.exit(1)
    undisturbed = r["mixnn/epochs/mixnn_accuracy"][-1]
    if abs(e["mixnn_accuracy"][-1] - undisturbed) > 0.005: print("PROBLEM final", e["mixnn_accuracy"][-1], undisturbed); sys.exit(1)
    fl = {k: m["failures"][k][()] for k in m["failures"]}
    if 0 not in list(fl["kind"]) or victim not in fl["removed_ranks"]: print("PROBLEM failures", fl); sys.exit(1)
    if m["hops"]["opened"][victim] != 0: print("PROBLEM the dead rank has hop costs"); sys.exit(1)
    print("rank", victim, "killed: crash handled, final accuracy", e["mixnn_accuracy"][-1], "undisturbed", undisturbed)
CHECK
) || reasons+=("$out")
echo "     $out"
finish_case "a cascade server killed for real (SIGKILL): training recovers, the ranks alive write the file"

# --- SIGTERM to every rank: the run ends after the designer's current epoch, the
# epochs done are written (complete = 0), and it exits with the stopped code 3.
new_case
start_signalable mixnn --train.epochs=4 --data.train_limit=6400 --data.test_limit=2000 --run.threads=1 \
  --mixnn.min_timeout=1 --run.out=out
signal_when "MixNN epoch 1/4" TERM
[[ $signalled_rc -eq 3 ]] || reasons+=("the signalled run exited $signalled_rc, expected 3 (stopped)")
out=$("$PYTHON" - "$case_dir/out/mixnn.h5" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    m = f["mixnn"]
    if m.attrs["complete"] != 0 or m.attrs["stopped_by"] != "SIGTERM":
        print("PROBLEM complete", m.attrs["complete"], "stopped_by", m.attrs["stopped_by"]); sys.exit(1)
    accuracy = m["epochs"]["mixnn_accuracy"][()]
    if not 1 <= len(accuracy) < 4: print("PROBLEM epochs", accuracy); sys.exit(1)
    if np.any(np.abs(accuracy - m["epochs"]["plain_accuracy"][()]) > 0.001): print("PROBLEM accuracy"); sys.exit(1)
    print(f"stopped after epoch {len(accuracy)} of 4")
CHECK
) || reasons+=("partial: $out")
echo "     $out"
finish_case "mixnn: SIGTERM ends the run after an epoch, the epochs done written (complete = 0), exit 3"

# --- a Byzantine server, with a pool large enough for a fresh cascade
RANKS=11
new_case
run_tessera mixnn "${SMALL[@]}" --mixnn.byzantine=2@150 --run.out=out
expect_all_ranks_succeeded
out=$(check "$case_dir/out/mixnn.h5" byzantine "$PLAIN") || reasons+=("$out")
echo "     $out"
finish_case "a Byzantine server is caught by the test phase and replaced"

# --- the attack on Theorem 1: the adversary's servers hold parts 2, 4 and 6 of mlp7
# (7 parts + 2 dummies from a pool of 9); a faster learning rate gets the victim past
# the start, where a deep MLP's units are mostly silent.
RANKS=10
new_case
run_tessera mixnn "${SMALL[@]}" --model.arch=mlp7 --train.lr=0.05 --mixnn.adversary=2,4,6 --adversary.public=1000 \
  --mixnn.public_epochs=1 --run.out=out
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir/out/mixnn.h5" 2>&1 <<'CHECK'
import sys, h5py, numpy as np
def fail(*what):
    print("PROBLEM", *what); sys.exit(1)
with h5py.File(sys.argv[1], "r") as f:
    x = f["mixnn/extraction"]
    a, s = x.attrs, {k: x["solved"][k][()] for k in x["solved"]}
    parts = [list(x[k][()]) for k in ("adversary_parts", "solved_parts", "learned_parts")]
    if parts != [[2, 4, 6], [3, 5], [1, 7]]: fail("adversary, solved, learned parts:", parts)
    if np.any(s["fit_rows"] + s["held_out_rows"] != 2000): fail("observed rows", s["fit_rows"], s["held_out_rows"])
    if np.any(s["determined"] + s["dead"] > s["units"]): fail("units", s)
    # solved from exact observations: held-out errors measured 0.01-0.03, parts 2-6 0.007; fresh weights give ~1
    if np.any(s["held_out_error"] > 0.2): fail("held-out error of the solved parts", s["held_out_error"])
    if not a["middle_error"] < 0.1: fail("parts 2-6 against the victim's", a["middle_error"])
    # the victim is the model the cascade trained (its test phase, batches of 64, against batches of 1000)
    last = f["mixnn/epochs/mixnn_accuracy"][-1]
    if abs(a["victim_accuracy"] - last) > 0.001: fail("victim accuracy", a["victim_accuracy"], "the run's", last)
    for k in ("learned", "fine_tuned", "public"):
        if not (0 <= a[k + "_accuracy"] <= 1 and 0 <= a[k + "_agreement"] <= 1): fail(k, a[k + "_accuracy"])
    print("held-out errors", np.round(s["held_out_error"], 4), "parts 2-6", round(a["middle_error"], 4),
          "victim", a["victim_accuracy"], "adversary", a["learned_accuracy"], "fine-tuned", a["fine_tuned_accuracy"],
          "public alone", a["public_accuracy"])
CHECK
) || reasons+=("$out")
echo "     $out"
out=$("$PYTHON" "$REPO/analysis/plot_mixnn.py" "$case_dir/out/mixnn.h5" -o "$case_dir/fig4.png" 2>&1)
[[ $out == *"public data alone (1000 images)"* && $out == *"Part 3 solved"* && $out == *"Part 5 solved"* ]] ||
  reasons+=("plot_mixnn.py printed no extraction table: $out")
finish_case "the adversary on parts 2, 4, 6 solves parts 3 and 5 and is measured against the victim"

# --- bad input
RANKS=4
new_case
bad_case "a pool smaller than the cascade" --mixnn.pool 3 5 -- mixnn "${SMALL[@]}" --run.out=out
RANKS=8
new_case
bad_case "dummies with nothing to relay" --mixnn.dummies "nothing to relay" -- \
  mixnn "${SMALL[@]}" --mixnn.layers_per_server=2 --mixnn.designer_keeps=first,last --run.out=out
new_case
bad_case "a crash outside the cascade" --mixnn.crash "outside the cascade" -- \
  mixnn "${SMALL[@]}" --mixnn.crash=9@10 --run.out=out
new_case
bad_case "a crash after the last step" --mixnn.crash "outside the training" -- \
  mixnn "${SMALL[@]}" --mixnn.crash=1@200 --run.out=out
new_case
bad_case "a crash that is not POSITION@STEP" --mixnn.crash "POSITION@STEP" -- \
  mixnn "${SMALL[@]}" --mixnn.crash=second --run.out=out
new_case
sed '2s/^../zz/' "$KEYS" >"$case_dir/corrupt.txt"
bad_case "a corrupt key file" --mixnn.keys corrupt.txt "line 2" -- \
  mixnn "${SMALL[@]}" --mixnn.keys=corrupt.txt --run.out=out
new_case
head -n 4 "$KEYS" >"$case_dir/short.txt"
bad_case "a key file with too few keys" --mixnn.keys "3 keys" -- \
  mixnn "${SMALL[@]}" --mixnn.keys=short.txt --run.out=out
new_case
{ grep -m 1 -E '^[0-9a-f]{64}$' "$KEYS"; grep -E '^[0-9a-f]{64}$' "$KEYS"; } >"$case_dir/repeated.txt"
bad_case "a key file with one key twice" --mixnn.keys repeated.txt "line 2" "repeats" -- \
  mixnn "${SMALL[@]}" --mixnn.keys=repeated.txt --run.out=out
new_case
{ printf '%064d\n' 0; tail -n +2 "$KEYS"; } >"$case_dir/zero.txt"
bad_case "a key file with the all-zero key" --mixnn.keys zero.txt "all-zero" -- \
  mixnn "${SMALL[@]}" --mixnn.keys=zero.txt --run.out=out
new_case
bad_case "more layers per server than the model has" --mixnn.layers_per_server "at most the 3 layers" -- \
  mixnn "${SMALL[@]}" --mixnn.layers_per_server=99 --run.out=out
new_case
bad_case "a model file, which mixnn would not read" --model.checkpoint "reads no model file" -- \
  mixnn "${SMALL[@]}" --model.checkpoint=/nonexistent.h5 --run.out=out
new_case
bad_case "an unknown part kept by the designer" --mixnn.designer_keeps "'middle'" -- \
  mixnn "${SMALL[@]}" --mixnn.designer_keeps=middle --run.out=out
new_case
bad_case "an unknown binding" --mixnn.bind "'auto' or 'none'" "'sometimes'" -- \
  mixnn "${SMALL[@]}" --mixnn.bind=sometimes --run.out=out
new_case
bad_case "an adversary part the model lacks" --mixnn.adversary "part 4 does not exist" -- \
  mixnn "${SMALL[@]}" --mixnn.adversary=2,4 --run.out=out
new_case
bad_case "an adversary part kept by the designer" --mixnn.adversary "kept by the designer" -- \
  mixnn "${SMALL[@]}" --mixnn.designer_keeps=first --mixnn.adversary=1 --run.out=out
new_case
bad_case "an adversary and a crash" --mixnn.adversary --mixnn.crash -- \
  mixnn "${SMALL[@]}" --mixnn.adversary=2 --mixnn.crash=1@10 --run.out=out
new_case
bad_case "an adversary without public images" --adversary.public "at least 1" -- \
  mixnn "${SMALL[@]}" --mixnn.adversary=2 --adversary.public=0 --run.out=out
RANKS=1
new_case
bad_case "no pool" "2 ranks" -- mixnn "${SMALL[@]}" --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
