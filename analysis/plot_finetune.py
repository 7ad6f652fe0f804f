#!/usr/bin/env python3
"""The cost of finishing a steal, from a `tessera finetune` file: test accuracy
against training images seen (left) and training flops (right), one line per
stolen run and one dashed line per baseline (the target layer trained from
scratch, the whole model trained from scratch), with the victim's accuracy and the
cost levels (fractions of it) drawn across; and a Markdown table of what each run
took to first reach each level, with the stolen runs' cost over the whole-model
(steal/train) and the layer (steal/layer) baseline's, in images seen."""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import Bad, attrs_of, open_run, read, run_script, save_figure  # noqa: E402

SERIES = ["samples", "flops", "seconds", "test_accuracy"]
BASELINES = {"layer_scratch": "layer from scratch", "model_scratch": "whole model from scratch"}
COST = ["samples", "flops", "seconds"]  # the columns of each run's cost table


def read_finetune(path):
    """The /finetune attributes and its runs (stolen ones first, in file order, then
    the baselines), read whole; any reason the file cannot be drawn is one line."""
    with open_run(path) as f:
        if "finetune" not in f:
            raise Bad("no /finetune group (not written by tessera finetune)")
        g = f["finetune"]
        setting = attrs_of(g, ["victim_test_accuracy", "levels"])
        runs = []
        for name, run in g.items():
            if not isinstance(run, h5py.Group):
                continue
            a = attrs_of(run)
            arm = a.get("arm")
            if arm != "stolen" and arm not in BASELINES:
                raise Bad(f"run '{name}' has no known arm (arm: {arm})")
            wanted = SERIES + ["cost"] + (["steal_to_train", "steal_to_layer"] if arm == "stolen" else [])
            missing = [d for d in wanted if not isinstance(run.get(d), h5py.Dataset)]
            if missing:
                raise Bad(f"run '{name}' lacks {', '.join(missing)}")
            if arm == "stolen":
                attrs_of(run, ["held_fraction", "position_recovery"])  # the legend's
            shapes = {d: ("points",) if d in SERIES else ("levels", len(COST)) for d in wanted}
            levels = len(np.atleast_1d(setting["levels"]))
            runs.append({"name": name, "attrs": a, **read(run, shapes, {"levels": levels})})
    if not runs:
        raise Bad("no runs in /finetune", path)
    order = ["stolen"] + list(BASELINES)
    runs.sort(key=lambda r: order.index(r["attrs"]["arm"]))  # stable: stolen runs keep the file's order
    return setting, runs


def label_of(run):
    a = run["attrs"]
    if a["arm"] != "stolen":
        return BASELINES[a["arm"]]
    return f"{run['name']} ({a['held_fraction']:.0%} held, recovery {a['position_recovery']:.2f})"


def draw(setting, runs, out):
    victim = float(setting["victim_test_accuracy"])
    levels = np.atleast_1d(setting["levels"])
    positive = [x for r in runs for x in r["flops"] if x > 0]
    fig, (samples_ax, flops_ax) = plt.subplots(1, 2, figsize=(13, 5))
    for r in runs:
        style = {"linestyle": "--"} if r["attrs"]["arm"] != "stolen" else {}
        line, = samples_ax.plot(r["samples"], r["test_accuracy"], marker=".", label=label_of(r), **style)
        flops_ax.plot(r["flops"], r["test_accuracy"], marker=".", color=line.get_color(), **style)
    for ax in (samples_ax, flops_ax):
        ax.axhline(victim, color="grey", linewidth=1.2, label=f"victim ({victim:.4f})")
        for i, level in enumerate(levels):
            ax.axhline(level * victim, color=str(0.2 + 0.4 * i / len(levels)), linestyle=":", linewidth=1.2,
                       label=f"{level:.0%} of victim")
            ax.text(1.0, level * victim, f"{level:.0%} ", transform=ax.get_yaxis_transform(), ha="right",
                    va="bottom", fontsize=7, color="dimgrey")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
    samples_ax.set_xlabel("training images seen")
    if positive:  # the first point, before training, is at 0: linear below the first step, log above
        flops_ax.set_xscale("symlog", linthresh=min(positive), linscale=0.5)
        flops_ax.set_xlim(left=0)
    flops_ax.set_xlabel("training flops (symlog)")
    samples_ax.legend(fontsize=8, loc="lower right")
    layers = sorted({r["attrs"]["layer"] for r in runs if "layer" in r["attrs"]})
    layer = f", layer {', '.join(layers)}" if layers else ""
    fig.suptitle(f"tessera finetune: {setting.get('arch', '?')}{layer}, held blocks {setting.get('held_mode', '?')}, "
                 f"rest {setting.get('rest', '?')}, {setting.get('public', '?')} public images", fontsize=10)
    fig.tight_layout()
    save_figure(fig, out, dpi=120)


def cell(value, kind):
    if np.isnan(value):
        return "not reached" if kind in COST else "n/a"
    return {"samples": f"{int(value)}", "flops": f"{value:.3g}", "seconds": f"{value:.3g}"}.get(kind, f"{value:.3f}")


def table(setting, runs):
    levels = np.atleast_1d(setting["levels"])
    victim = float(setting["victim_test_accuracy"])
    lines = [f"Cost to first reach each level of the victim's test accuracy ({victim:.4f}); "
             "steal/train and steal/layer: images seen, over the whole-model and the layer baseline's "
             "(n/a: one of the two never reached the level).", "",
             "| run | arm | level | samples | flops | seconds | steal/train | steal/layer |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        for i, level in enumerate(levels):
            costs = " | ".join(cell(r["cost"][i, j], kind) for j, kind in enumerate(COST))
            if r["attrs"]["arm"] == "stolen":
                ratios = f"{cell(r['steal_to_train'][i, 0], 'ratio')} | {cell(r['steal_to_layer'][i, 0], 'ratio')}"
            else:
                ratios = "- | -"
            lines.append(f"| `{r['name']}` | {r['attrs']['arm']} | {level:.0%} | {costs} | {ratios} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", help="HDF5 file written by tessera finetune")
    parser.add_argument("-o", "--out", help="PNG to write (default: FILE.png, beside FILE)")
    args = parser.parse_args()
    out = args.out or os.path.splitext(args.file)[0] + ".png"

    setting, runs = read_finetune(args.file)
    draw(setting, runs, out)
    print(table(setting, runs), end="")
    print(f"wrote {out}")


if __name__ == "__main__":
    run_script(main)
