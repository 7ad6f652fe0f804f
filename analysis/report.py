#!/usr/bin/env python3
"""The granularity study's answer in one figure and one table, from `tessera
finetune` files (or a merged file of them, merge_runs.py). Top row, one panel per
model: cost-to-steal over cost-to-train (training images seen to first reach
--level of the victim's test accuracy, stolen-init over the whole model from
scratch) against the number of blocks N of the cut layer, one line per drop rate,
with the seed formula's smallest infeasible N; bottom row: the search's position
recovery (solid) and search time (dashed, right axis) against N. The table
(PREFIX.md, also printed) has one row per model, N and drop rate."""
import argparse
import math
import re
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.lines as mlines  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import Bad, attrs_of, read, reading, run_script, runs_of, save_figure  # noqa: E402

PROG = "report.py"
ARMS = ("stolen", "layer_scratch", "model_scratch")
SERIES = ["cost", "samples", "test_accuracy", "flops", "seconds"]
SETTING = ["arch", "victim_test_accuracy", "levels", "public", "epochs", "rest", "held_mode"]
STOLEN = ["blocks", "bh", "bw", "held", "position_recovery"]
FLOOR = 1e-3  # where a ratio of 0 (stolen-init already at the level) is drawn, unless data lie lower
TRUE_POSITIONS = "none (true positions)"


def drop_rate_of(name, a):
    if "drop_rate" in a:
        return float(a["drop_rate"])
    m = re.fullmatch(r"drop-(\d*\.?\d+(?:[eE][-+]?\d+)?)", name)
    return float(m.group(1)) if m else None


def ratio_of(stolen, model, budget):
    """(kind, value) of cost-to-steal / cost-to-train in samples: kind is "value", "zero"
    (stolen-init already there), "bound" (the baseline never got there: the ratio is
    below stolen / budget) or "top" (stolen never got there, or the baseline started there)."""
    if math.isnan(stolen):
        return "top", None
    if stolen == 0:
        return "zero", 0.0
    if math.isnan(model):
        return "bound", stolen / budget
    return ("value", stolen / model) if model > 0 else ("top", None)


def read_group(path, g, level, rows):
    s = attrs_of(g, SETTING)
    levels = np.atleast_1d(s["levels"]).astype(float)
    hit = np.flatnonzero(np.isclose(levels, level))
    if not hit.size:
        raise Bad(f"level {level:g} is not among the levels of {g.name} ({', '.join(f'{x:g}' for x in levels)})")
    li, stolen, base = hit[0], [], {}
    for name, run in g.items():
        if not isinstance(run, h5py.Group):
            continue
        a = attrs_of(run)
        if a.get("arm") not in ARMS:
            raise Bad(f"{run.name} has no known arm (arm: {a.get('arm')})")
        lacks = [d for d in SERIES if not isinstance(run.get(d), h5py.Dataset)]
        lacks += [k for k in STOLEN if a["arm"] == "stolen" and k not in a]
        if lacks:
            raise Bad(f"{run.name} lacks {', '.join(lacks)}")
        cost = read(run, {"cost": (len(levels), 3)})["cost"]
        if a["arm"] == "stolen":
            stolen.append((name, run.name, a, cost[li]))
        else:
            base[a["arm"]] = cost[li]
    for arm in ("layer_scratch", "model_scratch"):
        if stolen and arm not in base:
            raise Bad(f"{g.name} has no {arm} run")
    budget = int(s["epochs"]) * int(s["public"])
    before = len(rows)
    for name, where, a, cost in stolen:
        drop = drop_rate_of(name, a)
        if drop is None:
            print(f"{PROG}: {path}: warning: {where}: no drop_rate attribute and the name is not drop-<rate>; "
                  "skipped", file=sys.stderr)
            continue
        model = base["model_scratch"]
        search = a.get("search_seconds")
        kind, ratio = ratio_of(cost[0], model[0], budget)
        rows.append({
            "arch": s["arch"], "N": int(a["blocks"]), "bh": int(a["bh"]), "bw": int(a["bw"]), "drop": drop,
            "held": int(a["held"]), "method": a.get("search_method", TRUE_POSITIONS),
            "search_s": None if search is None else float(search), "recovery": float(a["position_recovery"]),
            "stolen": cost[0], "layer": base["layer_scratch"][0], "model": model[0], "kind": kind, "ratio": ratio,
            "steal_s": (search or 0.0) + cost[2], "train_s": model[2], "feasible": a.get("formula_feasible"),
            "smallest": a.get("formula_smallest_infeasible"), "where": f"{path}:{where}",
            "victim": float(s["victim_test_accuracy"]), "budget": (int(s["epochs"]), int(s["public"])),
            "rest": s["rest"], "held_mode": s["held_mode"]})
    return len(rows) - before


def read_file(path, level, rows):
    with reading(path):
        stolen = sum(read_group(path, g, level, rows) for _, g in runs_of(path, "finetune"))
    if not stolen:
        raise Bad("no stolen runs (with a known drop rate) in /finetune", path)


def samples_cell(v):
    return "not reached" if math.isnan(v) else f"{int(v)}"


def seconds_cell(v):
    return "not reached" if v is None or math.isnan(v) else f"{v:.3g}"


def ratio_cell(r):
    if r["kind"] == "zero":
        return "0 (already there)"
    if r["kind"] == "bound":
        return f"< {r['ratio']:.3g}"
    return f"{r['ratio']:.3g}" if r["kind"] == "value" else ("not reached" if math.isnan(r["stolen"]) else "inf")


def table(rows, level):
    def joined(values):
        return ", ".join(sorted({str(v) for v in values}))
    victims = "; ".join(arch + " " + joined(f"{r['victim']:.4f}" for r in rows if r["arch"] == arch)
                        for arch in sorted({r["arch"] for r in rows}))
    budgets = joined(f"{e} epoch(s) x {p} public images" for e, p in (r["budget"] for r in rows))
    lv = f"{level:.0%}"
    lines = [f"Level: {lv} of the victim's test accuracy; fine-tune budget: {budgets}; rest: "
             f"{joined(r['rest'] for r in rows)}; held blocks: {joined(r['held_mode'] for r in rows)}; "
             f"victim test accuracy: {victims}.", "",
             "| model | blocks N | block size | drop rate | held | search method | search seconds | "
             f"position recovery | samples to {lv} (stolen) | samples to {lv} (layer from scratch) | "
             f"samples to {lv} (whole model from scratch) | cost-to-steal / cost-to-train (samples) | "
             "seconds to steal | seconds to train | formula verdict |",
             "|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        verdict = "-" if r["feasible"] is None else ("feasible" if int(r["feasible"]) else "infeasible")
        search = "-" if r["search_s"] is None else f"{r['search_s']:.3g}"
        steal_s = "not reached" if math.isnan(r["stolen"]) else f"{r['steal_s']:.3g}"
        lines.append(f"| {r['arch']} | {r['N']} | {r['bh']}x{r['bw']} | {r['drop']:g} | {r['held']} | {r['method']} "
                     f"| {search} | {r['recovery']:.3f} | {samples_cell(r['stolen'])} | {samples_cell(r['layer'])} "
                     f"| {samples_cell(r['model'])} | {ratio_cell(r)} | {steal_s} | {seconds_cell(r['train_s'])} "
                     f"| {verdict} |")
    return "\n".join(lines) + "\n"


def formula_marks(rows, ns):
    """The distinct smallest infeasible N of the runs' formula verdicts: those drawn as
    dashed lines (within a decade of the N measured), and notes on the others."""
    lines, notes = [], []
    for n in sorted({int(r["smallest"]) for r in rows if r["smallest"] is not None and r["method"] != TRUE_POSITIONS}):
        if n == 1:
            notes.append("seed formula: every N infeasible (its time condition fails)")
        elif n > 1 and min(ns) / 10 <= n <= max(ns) * 10:
            lines.append(n)
        elif n > 1:
            notes.append(f"seed formula: infeasible from N={n} (off the axis)")
    return lines, notes


def draw(rows, level):
    archs = sorted({r["arch"] for r in rows})
    drops = sorted({r["drop"] for r in rows})
    colour = {d: f"C{i % 10}" for i, d in enumerate(drops)}
    plotted = [r["ratio"] for r in rows if r["kind"] in ("value", "bound")]
    floor = min(FLOOR, 10 ** (math.floor(math.log10(min(plotted))) - 1)) if plotted else FLOOR
    top = max([10.0] + ([10 ** (math.ceil(math.log10(max(plotted))) + 1)] if plotted else []))
    fig, axes = plt.subplots(2, len(archs), figsize=(max(9, 6 * len(archs) + 1), 9.5), squeeze=False,
                             sharex="col", sharey="row")
    styles, twins = {True: "-", False: ":"}, []  # after a search, held at true positions
    for col, arch in enumerate(archs):
        mine = [r for r in rows if r["arch"] == arch]
        ns = sorted({r["N"] for r in mine})
        marks, notes = formula_marks(mine, ns)
        ax, low = axes[0, col], axes[1, col]
        twin = low.twinx() if any(r["method"] != TRUE_POSITIONS for r in mine) else None
        twins += [twin] if twin else []
        for drop in drops:
            for searched in (True, False):
                pts = sorted((r for r in mine if r["drop"] == drop and (r["method"] != TRUE_POSITIONS) == searched),
                             key=lambda r: r["N"])
                if not pts:
                    continue
                c, ls = colour[drop], styles[searched]
                line = [(r["N"], r["ratio"]) for r in pts if r["kind"] in ("value", "bound")]
                if line:
                    ax.plot(*zip(*line), color=c, linestyle=ls)
                for r in pts:
                    y, marker, face = {"value": (r["ratio"], "o", c), "bound": (r["ratio"], "v", "none"),
                                       "zero": (floor, "v", c), "top": (top, "^", c)}[r["kind"]]
                    ax.plot(r["N"], y, marker=marker, color=c, markerfacecolor=face, markersize=7, linestyle="none")
                if searched:
                    low.plot([r["N"] for r in pts], [r["recovery"] for r in pts], color=c, marker="o")
                    twin.plot([r["N"] for r in pts], [r["search_s"] for r in pts], color=c, marker="s",
                              linestyle="--", alpha=0.7)
        ax.axhline(1, color="grey", linewidth=1)
        ax.text(1.0, 1, "steal = train ", transform=ax.get_yaxis_transform(), ha="right", va="bottom", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, top * 2)
        ax.set_title(arch)
        for n in marks:
            for a in (ax, low):
                a.axvline(n, color="black", linestyle="--", linewidth=1)
            ax.text(n, 0.5, f"seed formula: infeasible from N={n} ", rotation=90, va="center", ha="right",
                    fontsize=7, transform=ax.get_xaxis_transform())
        if notes:
            ax.text(0.02, 0.98, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=7)
        low.set_ylim(-0.05, 1.05)
        if twin is None:
            low.text(0.5, 0.5, "no search runs (held blocks at their true positions)", ha="center",
                     transform=low.transAxes, fontsize=8)
        else:
            twin.set_ylabel("search seconds (dashed)")
        low.set_xscale("log")
        low.set_xlim(min(ns + marks) / 1.5, max(ns + marks) * 1.5)
        low.set_xticks(ns, [str(n) for n in ns])
        low.minorticks_off()
        for a in (ax, low):
            a.grid(alpha=0.3)
        low.set_xlabel("number of blocks N of the cut layer")
    seconds = [r["search_s"] for r in rows if r["search_s"]]
    for twin in twins if seconds else []:  # one scale for the search time across the panels
        twin.set_yscale("log")
        twin.set_ylim(min(seconds) / 1.5, max(seconds) * 1.5)
        twin.yaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
        twin.yaxis.set_minor_formatter(mticker.NullFormatter())
    axes[0, 0].set_ylabel(f"cost-to-steal / cost-to-train\n(samples to {level:.0%} of the victim)")
    axes[1, 0].set_ylabel("position recovery of the search (solid)")
    handles = [mlines.Line2D([], [], color=colour[d], label=f"drop rate {d:g}") for d in drops]
    kinds = {r["method"] != TRUE_POSITIONS for r in rows}
    handles += [mlines.Line2D([], [], color="grey", linestyle=styles[s], label=t) for s, t in
                ((True, "held where the search put them"), (False, "held at their true positions")) if s in kinds]
    grey = dict(color="grey", linestyle="none", markersize=7)
    handles += [mlines.Line2D([], [], marker="o", label="ratio", **grey),
                mlines.Line2D([], [], marker="v", markerfacecolor="none", label="< bound: whole model never got there",
                              **grey),
                mlines.Line2D([], [], marker="v", label=f"0: stolen-init already there (drawn at {floor:g})", **grey),
                mlines.Line2D([], [], marker="^", label="stolen never got there (not reached)", **grey)]
    fig.legend(handles=handles, loc="lower center", ncol=2 if len(archs) == 1 else 4, fontsize=8, frameon=False)
    fig.suptitle(f"tessera granularity study: cost to steal / cost to train at {level:.0%} of the victim's "
                 "test accuracy", fontsize=11)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", metavar="FILE", help="HDF5 files written by tessera finetune, or merged")
    parser.add_argument("--out", help="prefix of the PNG and the Markdown table (default: first FILE without .h5, "
                                      "+ '-report')")
    parser.add_argument("--level", type=float, default=0.95, help="fraction of the victim's accuracy (default 0.95)")
    args = parser.parse_args()
    prefix = args.out or re.sub(r"\.h5$", "", args.files[0]) + "-report"

    rows = []
    for path in args.files:
        read_file(path, args.level, rows)
    rows.sort(key=lambda r: (r["arch"], r["N"], r["drop"], r["method"] == TRUE_POSITIONS, r["method"], r["where"]))
    seen = {}
    for r in rows:
        key = (r["arch"], r["N"], r["drop"], r["method"])
        if key in seen:
            print(f"{PROG}: warning: {r['where']} repeats {seen[key]} (model, N, drop rate, search method); "
                  "both kept", file=sys.stderr)
        seen.setdefault(key, r["where"])
    md = table(rows, args.level)
    png, out = prefix + ".png", prefix + ".md"
    fig = draw(rows, args.level)
    save_figure(fig, png, {out: md}, dpi=120)  # both written whole or not at all
    plt.close(fig)
    print(md, end="")
    print(f"wrote {png}, {out}")


if __name__ == "__main__":
    run_script(main, PROG)
