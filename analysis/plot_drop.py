#!/usr/bin/env python3
"""Fig. 6 of the seed paper from `tessera drop` files: the adversary's accuracy
against the drop rate (mean over repeats, min-max band), one curve per model."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import open_run, text  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+", help="HDF5 files written by tessera drop")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--metric", default="accuracy", choices=["accuracy", "loss", "fidelity"])
    args = parser.parse_args()

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    settings = set()
    for path in args.runs:
        with open_run(path) as f:
            if "drop" not in f:
                raise SystemExit(f"{path}: no /drop group (not written by tessera drop)")
            g = f["drop"]
            rates = g["rates"][:]
            values = g[args.metric][:]  # rates x repeats
            a = g.attrs
            label = f"{text(a['arch'])} (victim {a['victim_accuracy']:.3f})"
            settings.add(f"{text(a['layer'])} in {a['bh']}x{a['bw']} blocks ({a['blocks']}), "
                         f"{a['eval_images']} eval images, {a['repeats']} repeats")
        order = np.argsort(rates)
        mean = values.mean(axis=1)[order]
        line, = ax.plot(rates[order], mean, marker=".", label=label)
        ax.fill_between(rates[order], values.min(axis=1)[order], values.max(axis=1)[order],
                        color=line.get_color(), alpha=0.2)
    ax.set_xlabel("drop rate (fraction of blocks the adversary does not hold)")
    ax.set_ylabel(f"adversary's {args.metric} (mean, min-max band)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("tessera drop (P1: held blocks at true positions)\n" + "; ".join(sorted(settings)), fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
