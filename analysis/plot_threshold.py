#!/usr/bin/env python3
"""The granularity threshold (jobs/granularity-threshold.sh): the adversary's
searches at several block sizes, drawn against the block count N. Panels: position
recovery, functional recovery, the assembled model's test accuracy (dotted: the held
blocks at their true positions) and its fidelity to the victim; one line per victim
and held fraction. Thin lines on the position recovery panel: the ceiling of any
template on the same held set (the held blocks placed by the victim's own update,
recorded by template searches on victims whose initialisation can be regenerated).
The measured threshold of each line (the smallest N from which
every run places fewer than half the held blocks right) is marked, and so is the seed
formula's (tessera threshold's report, --formula). --table writes the Markdown table.

    plot_threshold.py MERGED.h5 [--formula threshold.txt] --out FIG.png [--table TABLE.md]
"""
import argparse
import math
import re
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tessera_h5 import Bad, read, reading, run_script, runs_of, save_figure, text  # noqa: E402

PANELS = [("recovery", "position recovery"), ("functional", "functional recovery"),
          ("accuracy", "test accuracy of the assembled model"), ("fidelity", "fidelity to the victim")]
BAR = 0.5  # a granularity is broken when a run places at least this share of the held blocks right


def read_runs(path):
    """One row per attack run of the merged file."""
    rows = []
    with reading(path):
        for name, attack in runs_of(path, "attack"):
            for label, g in attack.items():
                a = g.attrs
                recovery = read(g, {"position_recovery": ("generations",)})["position_recovery"]
                rows.append({"arch": text(a["arch"]), "method": text(a["method"]), "N": int(a["blocks"]),
                             "block": f"{a['bh']}x{a['bw']}", "held": int(a["held"]),
                             "fraction": round(int(a["held"]) / int(a["blocks"]), 2),
                             "recovery": float(recovery[-1]),
                             "functional": float(a["functional_recovery"]), "accuracy": float(a["test_accuracy"]),
                             "true_accuracy": float(a["true_test_accuracy"]), "fidelity": float(a["test_fidelity"]),
                             "victim": float(a["victim_test_accuracy"]), "seconds": float(a["seconds"]),
                             # absent from files written before the template was assessed
                             "ceiling": float(a.get("template_ceiling", float("nan"))),
                             "correlation": float(a.get("template_correlation", float("nan"))),
                             "where": f"{name}:/attack/{label}"})
        if not rows:
            raise Bad("no attack run")
    return rows


def number(value, digits):
    """`value` to `digits` decimals, or a dash when it was not measured (NaN)."""
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def measured_threshold(line):
    """The smallest N from which no run of `line` reaches the bar (an N is broken when
    any of its runs does); None when the largest N is still broken."""
    broken = defaultdict(bool)
    for row in line:
        broken[row["N"]] |= row["recovery"] >= BAR
    threshold = None
    for n in sorted(broken, reverse=True):
        if broken[n]:
            break
        threshold = n
    return threshold


def formula_threshold(path):
    """The seed formula's smallest infeasible N (None: none in its range) and the clue
    condition's alone, from tessera threshold's report: its first verdict, the one at
    the seed's settings (later lines repeat the formula at other efforts)."""
    with reading(path), open(path, errors="replace") as f:
        report = f.read()
    # its threshold.txt (--run.out), or its standard output (each line after "tessera: ")
    smallest = re.search(r"^(?:tessera: )?smallest infeasible N(?: = (\d+)|: none)", report, re.M)
    clue = re.search(r"fails from N = (\d+)", report)
    if not smallest:
        raise Bad("no 'smallest infeasible N' line (not tessera threshold's report)", path)
    return (int(smallest.group(1)) if smallest.group(1) else None), (int(clue.group(1)) if clue else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("merged", help="the merged attack runs (analysis/merge_runs.py)")
    parser.add_argument("--formula", help="tessera threshold's report, for the seed formula's threshold")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--table", help="Markdown table to write")
    args = parser.parse_args()

    lines = defaultdict(list)
    for row in read_runs(args.merged):
        lines[(row["arch"], row["fraction"])].append(row)
    for line in lines.values():
        line.sort(key=lambda r: r["N"])
    archs = sorted({arch for arch, _ in lines})
    fractions = sorted({fraction for _, fraction in lines})

    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True)
    notes = []
    for (arch, fraction), line in sorted(lines.items()):
        color = f"C{fractions.index(fraction) % 10}"
        style = ["-", "--", ":", "-."][archs.index(arch) % 4]
        label = f"{arch}, {fraction:.0%} held"
        ns = [r["N"] for r in line]
        for ax, (key, _) in zip(axes.flat, PANELS):
            ax.plot(ns, [r[key] for r in line], style, color=color, marker="o", label=label)
            if key == "accuracy":
                ax.plot(ns, [r["true_accuracy"] for r in line], ":", color=color, alpha=0.6)
        ceiling = [(r["N"], r["ceiling"]) for r in line if not math.isnan(r["ceiling"])]
        if ceiling:
            axes[0][0].plot(*zip(*ceiling), style, color=color, linewidth=0.8, alpha=0.5)
        n = measured_threshold(line)
        if n is not None:
            axes[0][0].axvline(n, color=color, linestyle=style, alpha=0.4)
        notes.append(f"{label}: measured threshold N = {n}" if n else f"{label}: broken at every N run")
    if args.formula:
        smallest, clue = formula_threshold(args.formula)
        if smallest is not None:
            for ax in axes.flat:
                ax.axvline(max(smallest, 1), color="black", linestyle="-", linewidth=0.8)
        notes.append(f"seed formula: infeasible from N = {smallest}" if smallest is not None
                     else "seed formula: no N in its range is infeasible")
        if clue is not None:
            notes[-1] += f" (clue condition alone: from N = {clue})"
    for ax, (key, title) in zip(axes.flat, PANELS):
        ax.set_title(title, fontsize=10)
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
        if key in ("recovery", "functional"):
            ax.axhline(BAR, color="grey", linewidth=0.6)
    for ax in axes[1]:
        ax.set_xlabel("blocks in the layer, N")
    if any(not math.isnan(r["ceiling"]) for line in lines.values() for r in line):
        axes[0][0].plot([], [], "-", color="grey", linewidth=0.8, alpha=0.5, label="thin: the ceiling of any template")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("the granularity threshold\n" + "\n".join(notes), fontsize=8)
    fig.tight_layout()

    table = None
    if args.table:
        out = ["| model | held | blocks | N | method | position recovery | functional recovery | test accuracy | "
               "at true positions | victim | fidelity | template ceiling | template correlation | seconds |",
               "|" + "---|" * 14]
        for (arch, fraction), line in sorted(lines.items()):
            for r in line:
                out.append(f"| {arch} | {fraction:.0%} | {r['block']} | {r['N']} | `{r['method']}` | {r['recovery']:.3f} | "
                           f"{r['functional']:.3f} | {r['accuracy']:.4f} | {r['true_accuracy']:.4f} | "
                           f"{r['victim']:.4f} | {r['fidelity']:.4f} | {number(r['ceiling'], 3)} | "
                           f"{number(r['correlation'], 3)} | {r['seconds']:.1f} |")
        out += [""] + [f"- {note}" for note in notes]
        table = "\n".join(out) + "\n"
    save_figure(fig, args.out, {args.table: table} if args.table else None, dpi=120)
    print(f"wrote {args.out}")
    if args.table:
        print(f"wrote {args.table}")


if __name__ == "__main__":
    run_script(main)
