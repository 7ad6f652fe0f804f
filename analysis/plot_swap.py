#!/usr/bin/env python3
"""Fig. 7 of the seed paper from a `tessera swap` file: the adversary's accuracy
over drop rate x swapped pairs, as a 3-D surface and a contour map (mean over repeats)."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import open_run, text  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run", help="HDF5 file written by tessera swap")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "loss", "fidelity"])
    args = parser.parse_args()

    with open_run(args.run) as f:
        if "swap" not in f:
            raise SystemExit(f"{args.run}: no /swap group (not written by tessera swap)")
        g = f["swap"]
        rates, pairs = g["rates"][:], g["pairs"][:]
        mean = g[args.metric][:].mean(axis=2)  # rates x pairs
        a = g.attrs
        title = (f"tessera swap (S1): {text(a['arch'])} {text(a['layer'])} in {a['bh']}x{a['bw']} blocks "
                 f"({a['blocks']}), {a['eval_images']} eval images, {a['repeats']} repeats, "
                 f"victim {a['victim_accuracy']:.3f}")
    R, P = np.meshgrid(rates, pairs, indexing="ij")
    fig = plt.figure(figsize=(12, 5))
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.plot_surface(R, P, mean, cmap="viridis", edgecolor="none")
    ax3.set_xlabel("drop rate")
    ax3.set_ylabel("swapped pairs")
    ax3.set_zlabel(args.metric)
    ax2 = fig.add_subplot(1, 2, 2)
    contour = ax2.contourf(R, P, mean, levels=12, cmap="viridis")
    fig.colorbar(contour, ax=ax2, label=f"adversary's {args.metric} (mean)")
    ax2.set_xlabel("drop rate")
    ax2.set_ylabel("swapped pairs")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
