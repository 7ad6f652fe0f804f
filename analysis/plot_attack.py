#!/usr/bin/env python3
"""The adversary's searches from `tessera attack` files: best and mean fitness, the
best individual's accuracy, position recovery (the fraction of held blocks at their
true position) and population diversity against the generation, one line per run
(a GA and an SA run side by side, say). A run that gives one placement at generation
0 (`surrogate`, `stats`, `init`) is a dashed level across the plot, with its seconds."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import Bad, open_run, read, run_script, save_figure, text  # noqa: E402

PANELS = [("best_fitness", "best fitness"), ("best_accuracy", "best individual's accuracy"),
          ("position_recovery", "position recovery (best)"), ("diversity", "diversity")]
SERIES = [key for key, _ in PANELS] + ["mean_fitness"]  # one value per generation
ONE_PLACEMENT = {"surrogate", "stats", "init"}  # methods that give one placement at generation 0, not a search


def describe(name, a):
    """The legend's label of run `name` from its attributes."""
    method = text(a["method"])
    if method == "ga":
        label = f"GA, population {a['population']}"
    elif method == "sa":
        label = f"SA, {a['moves']} moves/generation"
    elif method == "surrogate":
        label = f"surrogate, {a['surrogate_count']} averaged"
    else:
        label = method
    return label if name == method else f"{name}: {label}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="+", help="HDF5 files written by tessera attack")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    settings = set()
    levels = []  # runs of one generation, drawn once the others have set the axis
    runs = 0
    for path in args.runs:
        with open_run(path) as f:
            if "attack" not in f:
                raise Bad("no /attack group (not written by tessera attack)")
            if not len(f["attack"]):
                raise Bad("no runs in /attack")
            for name, g in f["attack"].items():
                a = g.attrs
                label = describe(name, a)
                settings.add(f"{text(a['layer'])} {a['bh']}x{a['bw']} blocks, {a['held']} of {a['blocks']} held, "
                             f"{a['eval_images']} eval images, fitness {text(a['fitness'])}")
                color = f"C{runs % 10}"
                runs += 1
                series = read(g, {k: ("generations",) for k in SERIES})
                if a.get("generations") == 0 and text(a["method"]).split(",")[-1] not in ONE_PLACEMENT:
                    raise Bad(f"{g.name} is a search of 0 generations (--attack.generations=0): nothing to draw")
                generations = np.arange(len(series["best_fitness"]))
                if len(generations) == 1:
                    levels.append((f"{label} ({float(a['seconds']):.0f} s)", color,
                                   {k: series[k][0] for k, _ in PANELS}))
                    continue
                for ax, (key, title) in zip(axes.flat, PANELS):
                    ax.plot(generations, series[key], color=color, label=label)
                    if key == "best_fitness":
                        ax.plot(generations, series["mean_fitness"], color=color, linestyle=":", label=f"{label}: mean")
    for label, color, values in levels:
        for ax, (key, _) in zip(axes.flat, PANELS):
            if key != "diversity":  # one placement: no population
                ax.axhline(values[key], linestyle="--", color=color, label=label)
    for ax, (_, title) in zip(axes.flat, PANELS):
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("generation")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("tessera attack (P2: positions searched)\n" + "; ".join(sorted(settings)), fontsize=9)
    fig.tight_layout()
    save_figure(fig, args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
