#!/usr/bin/env python3
"""Fig. 6 of the seed paper from `tessera drop` files: the adversary's accuracy
against the drop rate (mean over repeats, min-max band), one curve per run. Runs
are told apart by what differs between them (model, block size), so the same
script draws the geometry comparison and a granularity sweep (a merged file)."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import attrs_of, read, reading, run_script, runs_of, save_figure  # noqa: E402

# What may tell runs apart, and what is shown in the title when runs share it.
VARYING = ["arch", "layer", "bh", "bw", "eval_images", "repeats"]


def read_runs(paths, metric):
    runs = []
    for path in paths:
        with reading(path):
            for _, g in runs_of(path, "drop"):
                data = read(g, {"rates": ("rates",), metric: ("rates", "repeats")})
                runs.append({"attrs": attrs_of(g, VARYING + ["blocks", "victim_accuracy"]), "rates": data["rates"],
                             "values": data[metric]})  # values: rates x repeats
    return runs


def describe(attrs, keys):
    parts = []
    if "arch" in keys:
        parts.append(attrs["arch"])
    if "layer" in keys:
        parts.append(attrs["layer"])
    if "bh" in keys or "bw" in keys:
        parts.append(f"{attrs['bh']}x{attrs['bw']} blocks ({attrs['blocks']})")
    if "eval_images" in keys:
        parts.append(f"{attrs['eval_images']} eval images")
    if "repeats" in keys:
        parts.append(f"{attrs['repeats']} repeats")
    return ", ".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+", help="HDF5 files written by tessera drop, or merged by merge_runs.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "loss", "fidelity"])
    args = parser.parse_args()

    runs = read_runs(args.runs, args.metric)
    differing = [k for k in VARYING if len({str(r["attrs"][k]) for r in runs}) > 1] or ["arch"]
    shared = [k for k in VARYING if k not in differing]
    if {"bh", "bw"} & set(differing):
        runs.sort(key=lambda r: (r["attrs"]["bh"], r["attrs"]["bw"]))

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for r in runs:
        order = np.argsort(r["rates"])
        rates, values = r["rates"][order], r["values"][order]
        label = describe(r["attrs"], differing)
        if "arch" in differing:
            label += f" (victim {r['attrs']['victim_accuracy']:.3f})"
        line, = ax.plot(rates, values.mean(axis=1), marker=".", label=label)
        ax.fill_between(rates, values.min(axis=1), values.max(axis=1), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("drop rate (fraction of blocks the adversary does not hold)")
    ax.set_ylabel(f"adversary's {args.metric} (mean, min-max band)")
    ax.grid(alpha=0.3)
    ax.legend()
    setting = describe(runs[0]["attrs"], shared)
    if "arch" not in differing:
        setting += f", victim {runs[0]['attrs']['victim_accuracy']:.3f}"
    ax.set_title("tessera drop (P1: held blocks at true positions)\n" + setting, fontsize=9)
    fig.tight_layout()
    save_figure(fig, args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
