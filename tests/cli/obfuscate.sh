#!/usr/bin/env bash
# End-to-end tests of `tessera streams obfuscate` on 2 ranks, on a served vgg-mini's
# trace (classifier.0 in 64x64 blocks, 1574 devices): every eavesdropper divides the
# plain trace exactly (point 0 of the search); every plan scored is kept with its
# cost and the Pareto front is marked; the chosen plan is within the byte budget, its
# obfuscated trace (written beside) reads back and `streams analyze` scores it as the
# search did; the same run twice writes the same file; plot_streams.py draws the
# front; `serve --serve.obfuscation` sends the plan and writes the same obfuscated
# trace; bad input fails cleanly (one line, every rank non-zero, no file).
#
# usage: obfuscate.sh TESSERA [MPIEXEC]

source "$(dirname "$0")/harness.sh"

make_served_trace

SEARCH=(--obfuscate.evaluations=100 --obfuscate.byte_budget=0.2)
new_case
run_tessera streams obfuscate --streams.trace="$TRACE" "${SEARCH[@]}" --run.out=out
expect_all_ranks_succeeded
out=$("$PYTHON" - "$case_dir/out/obfuscate.h5" <<'PY' 2>&1
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
g = f["obfuscation"]
p = {k: g["points"][k][:] for k in g["points"]}
problems = []
n = len(p["loss"])
worst = np.maximum.reduce([p[k] for k in p if k.startswith("ari_")])
if not 3 <= n <= 1 + 3 * 100: problems.append("%d plans scored for 3 optimisers x 100" % n)
if set(p["optimiser"]) != {0, 1, 2}: problems.append("optimisers %s" % sorted(set(p["optimiser"])))
if worst[0] != 1.0 or p["byte_fraction"][0] != 0: problems.append("point 0 is not the plain trace: %s" % worst[0])
if (p["byte_fraction"][p["moves"] > 0] <= 0).any(): problems.append("a plan with moves added no bytes")
front = np.flatnonzero(p["on_front"])
for i in front:
    better = (worst <= worst[i]) & (p["byte_fraction"] <= p["byte_fraction"][i]) & (p["message_fraction"] <= p["message_fraction"][i])
    strictly = (worst < worst[i]) | (p["byte_fraction"] < p["byte_fraction"][i]) | (p["message_fraction"] < p["message_fraction"][i])
    if (better & strictly).any(): problems.append("front point %d is beaten" % i)
chosen = g.attrs["chosen"]
if p["byte_fraction"][chosen] > 0.2: problems.append("chosen plan over budget: %s" % p["byte_fraction"][chosen])
within = p["byte_fraction"] <= 0.2
if worst[chosen] != worst[within].min(): problems.append("chosen is not the best within budget")
# Searches differ from seed to seed and machine to machine (0.1 to 0.6 seen); a hundred
# plans of each optimiser that leave every eavesdropper near 1 would be a broken search.
if worst[within].min() >= 0.95: problems.append("no plan within 20%% extra bytes lowers the worst index below 0.95: %s" % worst[within].min())
layer = f["trace/truth/device_layer"][:]
if (layer < 0).sum() != p["dummies"][chosen]: problems.append("dummies in the trace != the plan's")
if len(g["plan/kind"]) != p["moves"][chosen]: problems.append("plan length")
print("%d plans, %d on the front, chosen +%.1f%% bytes, worst index %.3f (sequential %.3f, flattened %.3f, depth %.3f)" % (
    n, len(front), 100 * p["byte_fraction"][chosen], worst[chosen], p["ari_sequential"][chosen],
    p["ari_flattened"][chosen], p["ari_depth"][chosen]))
print("DEPTH", p["ari_depth"][chosen])
for x in problems: print("PROBLEM", x)
sys.exit(1 if problems else 0)
PY
) || reasons+=("obfuscate.h5: $(echo $out)")
echo "     $(echo "$out" | grep -v DEPTH | tr '\n' ' ')"
depth=$(echo "$out" | sed -n 's/^DEPTH //p')
cp "$case_dir/out/obfuscate.h5" "$ROOT/first.h5"
OBFUSCATED=$ROOT/first.h5
"$PYTHON" "$(dirname "$0")/../../analysis/plot_streams.py" "$case_dir/out/obfuscate.h5" --out "$case_dir/front.png" \
  >/dev/null 2>&1 && [[ -s $case_dir/front.png ]] || reasons+=("analysis/plot_streams.py drew no front")
finish_case "obfuscation search: points, front, chosen plan, and the front's figure"

new_case
run_tessera streams obfuscate --streams.trace="$TRACE" "${SEARCH[@]}" --run.out=out
expect_all_ranks_succeeded
same=$("$PYTHON" "$SAME_H5" "$OBFUSCATED" "$case_dir/out/obfuscate.h5" --ignore created_utc seconds 2>&1) ||
  reasons+=("the same run twice differs: $same")
finish_case "the same seed twice: the same file"

# expect_search_depth TRACE WHAT: the depth eavesdropper, run by `streams analyze` on
# TRACE (into $case_dir/eaves), scores it as the search scored the chosen plan.
expect_search_depth() {
  run_tessera streams analyze --streams.trace="$1" --streams.method=depth --streams.view=edges --run.out=eaves
  expect_all_ranks_succeeded
  local ari
  ari=$("$PYTHON" -c "import h5py; print(h5py.File('$case_dir/eaves/streams.h5')['streams/depth-edges'].attrs['adjusted_rand_index'])")
  "$PYTHON" -c "import sys; sys.exit(0 if abs($ari - $depth) < 1e-12 else 1)" ||
    reasons+=("streams analyze scores $2 $ari, the search $depth")
  echo "     depth eavesdropper on $2: ARI $ari"
}

# The eavesdropper on the obfuscated trace, as a third party would run it.
new_case
expect_search_depth "$OBFUSCATED" "the obfuscated trace"
finish_case "streams analyze on the obfuscated trace agrees with the search"

# The plan sent for real: the service's own trace is the obfuscated one, and the
# eavesdropper scores it as the search did.
new_case
run_tessera serve --model.checkpoint="$MODEL" --data.test_limit=64 --serve.obfuscation="$OBFUSCATED" --run.out=out
expect_all_ranks_succeeded
grep -q "cover bytes forward" "$log" || reasons+=("serve did not report its cover traffic")
expect_search_depth "$case_dir/out/serve.h5" "the served, obfuscated trace"
finish_case "serve --serve.obfuscation: the cover sent, the obfuscated trace written"

# --- bad input: one line, every rank non-zero, no file
new_case
bad_case "a plan file without a plan" --serve.obfuscation "serve.h5'" "/obfuscation/plan" -- \
  serve --model.checkpoint="$MODEL" --data.test_limit=64 --serve.obfuscation="$TRACE" --run.out=out
new_case
bad_case "a plan for another cut" --serve.obfuscation "1574 devices" -- \
  serve --model.checkpoint="$MODEL" --data.test_limit=64 --blocks.bh=32 --blocks.bw=32 \
  --serve.obfuscation="$OBFUSCATED" --run.out=out
new_case
bad_case "a plan for the same device count with other ids (another seed)" --serve.obfuscation \
  "another deployment" -- \
  serve --model.checkpoint="$MODEL" --data.test_limit=64 --run.seed=2 --serve.obfuscation="$OBFUSCATED" --run.out=out
new_case
bad_case "a plan for the same device count with other ids (contiguous placement)" --serve.obfuscation \
  "another deployment" -- \
  serve --model.checkpoint="$MODEL" --data.test_limit=64 --blocks.placement=contiguous \
  --serve.obfuscation="$OBFUSCATED" --run.out=out
new_case
"$PYTHON" - "$TRACE" "$FIXTURES/no_truth.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as src, h5py.File(sys.argv[2], "w") as dst:
    src.copy("trace", dst)
    del dst["trace/truth"]
PY
bad_case "a trace without its truth" "no_truth.h5'" "truth" -- \
  streams obfuscate --streams.trace="$FIXTURES/no_truth.h5" --run.out=out
new_case
bad_case "an unknown optimiser" --obfuscate.optimisers "'annealing'" -- \
  streams obfuscate --streams.trace="$TRACE" --obfuscate.optimisers=greedy,annealing --run.out=out
new_case
bad_case "a negative byte budget" --obfuscate.byte_budget -- \
  streams obfuscate --streams.trace="$TRACE" --obfuscate.byte_budget=-0.1 --run.out=out
new_case
bad_case "a bundle larger than the trace (it ran for minutes, or ran out of memory)" --obfuscate.bundle \
  "1574 devices" -- streams obfuscate --streams.trace="$TRACE" --obfuscate.bundle=1000000000 --run.out=out
new_case
bad_case "no evaluations" --obfuscate.evaluations -- \
  streams obfuscate --streams.trace="$TRACE" --obfuscate.evaluations=0 --run.out=out

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
