#!/usr/bin/env python3
"""The adversary's searches from `tessera attack` files: best and mean fitness, the
best individual's accuracy, position recovery (the fraction of held blocks at their
true position) and population diversity against the generation, one line per run
(a GA and an SA run side by side, say)."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import open_run, text  # noqa: E402

PANELS = [("best_fitness", "best fitness"), ("best_accuracy", "best individual's accuracy"),
          ("position_recovery", "position recovery (best)"), ("diversity", "diversity")]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+", help="HDF5 files written by tessera attack")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    settings = set()
    for path in args.runs:
        with open_run(path) as f:
            if "attack" not in f:
                raise SystemExit(f"{path}: no /attack group (not written by tessera attack)")
            for name, g in f["attack"].items():
                a = g.attrs
                method = text(a["method"])
                label = f"GA, population {a['population']}" if method == "ga" else f"SA, {a['moves']} moves/generation"
                if name != method:
                    label = f"{name}: {label}"
                settings.add(f"{text(a['layer'])} {a['bh']}x{a['bw']} blocks, {a['held']} of {a['blocks']} held, "
                             f"{a['eval_images']} eval images, fitness {text(a['fitness'])}")
                generations = np.arange(g["best_fitness"].shape[0])
                for ax, (key, title) in zip(axes.flat, PANELS):
                    line, = ax.plot(generations, g[key][:], label=label)
                    if key == "best_fitness":
                        ax.plot(generations, g["mean_fitness"][:], color=line.get_color(), linestyle=":",
                                label=f"{label}: mean")
    for ax, (_, title) in zip(axes.flat, PANELS):
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("generation")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("tessera attack (P2: positions searched)\n" + "; ".join(sorted(settings)), fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
