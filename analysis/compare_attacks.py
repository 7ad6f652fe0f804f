#!/usr/bin/env python3
"""Compares the adversary's search methods from `tessera attack` runs (a file that
merge_runs.py wrote from jobs/attack-compare.sh, or attack files themselves): one
row of panels per (model, held fraction), position recovery and the best placement's
accuracy on the adversary's images against wall seconds, one line per method; and a
Markdown table of the final numbers: position and functional recovery, the whole
test set's accuracy with the held blocks where the search put them and at their true
positions, the victim's, the fidelity to the victim's answers, and the seconds the
search took."""
import argparse
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tessera_h5 import Bad, open_run, read, reading, run_script, save_figure, text  # noqa: E402

SERIES = ["wall_seconds", "position_recovery", "best_accuracy"]  # one value per generation


def attack_groups(path):
    """(model, held fraction, label, group) of every /attack/<run> in a file, merged
    or not (the label is the run's group name: the method, or --attack.run); the file
    stays open while iterating."""
    with open_run(path) as f:
        runs = [f["runs"][n] for n in f["runs"]] if text(f.attrs["command"]) == "merge" else [f]
        for run in runs:
            if "attack" not in run:
                raise Bad("a run without an /attack group (not written by tessera attack)")
            for label, g in run["attack"].items():
                model = text(g.attrs["arch"]) if "arch" in g.attrs else "?"
                yield model, float(g.attrs["held"]) / float(g.attrs["blocks"]), label, g


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inputs", nargs="+", help="HDF5 files written by tessera attack or merged by merge_runs.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--table", help="Markdown table to write (default: printed only)")
    args = parser.parse_args()

    panels = defaultdict(list)  # (model, held) -> [(label, seconds, recovery, accuracy)]
    rows = []
    for path in args.inputs:
        with reading(path):
            for model, held, label, g in attack_groups(path):
                a = g.attrs
                seconds, recovery, accuracy = read(g, {k: ("generations",) for k in SERIES}).values()
                panels[(model, held)].append((label, seconds, recovery, accuracy))
                rows.append((model, held, label, recovery[-1], float(a["functional_recovery"]),
                             float(a["test_accuracy"]), float(a["true_test_accuracy"]),
                             float(a["victim_test_accuracy"]), float(a["test_fidelity"]), seconds[-1],
                             text(a["stop_reason"])))
    if not rows:
        raise Bad("no attack runs in the inputs")

    keys = sorted(panels)
    fig, axes = plt.subplots(len(keys), 2, figsize=(11, 3.2 * len(keys)), squeeze=False)
    for (model, held), (left, right) in zip(keys, axes):
        for label, seconds, recovery, accuracy in sorted(panels[(model, held)], key=lambda p: p[0]):
            # a search that answers at once (stats, init) has one point: a marker
            style = {"marker": "o"} if len(seconds) < 3 else {}
            line, = left.step(seconds, recovery, where="post", label=label, **style)
            right.step(seconds, accuracy, where="post", label=label, color=line.get_color(), **style)
        left.set_title(f"{model}, {held:.0%} held: position recovery", fontsize=10)
        right.set_title(f"{model}, {held:.0%} held: best placement's accuracy (adversary's images)", fontsize=10)
        for ax in (left, right):
            ax.set_xlabel("wall seconds")
            ax.grid(alpha=0.3)
        left.legend(fontsize=7, loc="center right")
    fig.tight_layout()

    lines = ["| model | held | method | position recovery | functional recovery | test accuracy | "
             "at true positions | victim | fidelity | seconds | stopped on |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model, held, label, rec, fr, ta, tta, va, fid, sec, reason in sorted(rows, key=lambda r: (r[0], r[1], -r[3])):
        lines.append(f"| {model} | {held:.0%} | `{label}` | {rec:.3f} | {fr:.3f} | {ta:.4f} | {tta:.4f} | {va:.4f} | "
                     f"{fid:.4f} | {sec:.1f} | {reason} |")
    table = "\n".join(lines) + "\n"
    save_figure(fig, args.out, {args.table: table} if args.table else None, dpi=110)
    print(table, end="")
    if args.table:
        print(f"wrote {args.table}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
