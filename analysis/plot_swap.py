#!/usr/bin/env python3
"""Fig. 7 of the seed paper from a `tessera swap` file: the adversary's accuracy
over drop rate x swapped pairs (mean over repeats), as a 3-D surface and a contour
map. A merged file (a granularity sweep) gives one contour map per run instead."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import attrs_of, read, reading, run_script, runs_of, save_figure  # noqa: E402

ATTRS = ["arch", "layer", "eval_images", "repeats", "victim_accuracy", "bh", "bw", "blocks"]  # those drawn


def read_runs(path, metric):
    runs = []
    with reading(path):
        for _, g in runs_of(path, "swap"):
            data = read(g, {"rates": ("rates",), "pairs": ("pairs",), metric: ("rates", "pairs", "repeats")})
            runs.append({"attrs": attrs_of(g, ATTRS), "rates": data["rates"], "pairs": data["pairs"],
                         "mean": data[metric].mean(axis=2)})  # rates x pairs
    runs.sort(key=lambda r: (r["attrs"]["bh"], r["attrs"]["bw"]))
    return runs


def contour(fig, ax, run, metric):
    R, P = np.meshgrid(run["rates"], run["pairs"], indexing="ij")
    filled = ax.contourf(R, P, run["mean"], levels=12, cmap="viridis")
    fig.colorbar(filled, ax=ax, label=f"adversary's {metric} (mean)")
    ax.set_xlabel("drop rate")
    ax.set_ylabel("swapped pairs")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", help="HDF5 file written by tessera swap, or merged by merge_runs.py")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "loss", "fidelity"])
    args = parser.parse_args()

    runs = read_runs(args.run, args.metric)
    a = runs[0]["attrs"]
    setting = (f"{a['arch']} {a['layer']}, {a['eval_images']} eval images, {a['repeats']} repeats, "
               f"victim {a['victim_accuracy']:.3f}")
    if len(runs) == 1:
        run = runs[0]
        R, P = np.meshgrid(run["rates"], run["pairs"], indexing="ij")
        fig = plt.figure(figsize=(12, 5))
        ax3 = fig.add_subplot(1, 2, 1, projection="3d")
        ax3.plot_surface(R, P, run["mean"], cmap="viridis", edgecolor="none")
        ax3.set_xlabel("drop rate")
        ax3.set_ylabel("swapped pairs")
        ax3.set_zlabel(args.metric)
        contour(fig, fig.add_subplot(1, 2, 2), run, args.metric)
        title = f"tessera swap (S1): {setting}, {a['bh']}x{a['bw']} blocks ({a['blocks']})"
    else:
        fig, axes = plt.subplots(1, len(runs), figsize=(4.5 * len(runs), 4.2), squeeze=False)
        for ax, run in zip(axes[0], runs):
            contour(fig, ax, run, args.metric)
            ax.set_title(f"{run['attrs']['bh']}x{run['attrs']['bw']} blocks ({run['attrs']['blocks']})", fontsize=9)
        title = f"tessera swap (S1) by block size: {setting}"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
