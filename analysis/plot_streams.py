#!/usr/bin/env python3
"""Two figures of the stream analysis, chosen by what the file holds.

A `tessera streams analyze` file (/streams): the eavesdropper's division, the device
graph laid out by recovered group (left to right, in the order of the flow), each
device coloured by its true layer (dummies grey), pivots as stars; beside it the
devices counted per (recovered group, true layer). A perfect division is one colour
per column and a diagonal table.

A `tessera streams obfuscate` file (/obfuscation): the Pareto front of the provider's
cover traffic, every eavesdropper's adjusted Rand index against the extra bytes
(left) and the extra messages (right) of every plan evaluated, each eavesdropper's
own front as a line (the lowest index at that cost or less), the front of the worst
of them in black, the plan chosen within the byte budget circled."""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import Bad, attrs_of, open_run, read, reading, run_script, save_figure, text  # noqa: E402

MAX_DRAWN_STREAMS = 20000  # above this the arcs are left out (the points still show the division)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", help="HDF5 file written by tessera streams analyze or tessera streams obfuscate")
    parser.add_argument("--run", help="the /streams/<run> group (default: the only one)")
    parser.add_argument("--trace", help="the trace file (default: the path recorded in the run)")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()
    with open_run(args.file) as f:
        obfuscation = "obfuscation" in f
    if obfuscation:
        plot_front(args)
    else:
        plot_division(args)


def within(values, n, where):
    """Bad naming `where` unless every one of the indices `values` is in [0, n)."""
    if len(values) and not (0 <= values.min() and values.max() < n):
        raise Bad(f"{where} holds {values.min() if values.min() < 0 else values.max()}, outside 0..{n - 1}")


def trace_of(args, attrs):
    """The trace the run was made from: --trace, or the one recorded, found where
    tessera looks for it: beside the file, at trace_absolute, from the working folder."""
    if args.trace:
        return args.trace
    recorded = attrs["trace"]
    tried = [os.path.join(os.path.dirname(args.file), recorded)] if not os.path.isabs(recorded) else []
    tried += [attrs["trace_absolute"]] if "trace_absolute" in attrs else []
    tried += [recorded]
    for path in tried:
        if os.path.isfile(path):
            return os.path.normpath(path)
    raise Bad(f"made from the trace '{recorded}', which is not at {', '.join(map(os.path.normpath, tried))} "
              "(give it with --trace)", args.file)


def plot_front(args):
    with open_run(args.file) as f:
        g = f["obfuscation"]
        attrs = attrs_of(g, ["chosen", "byte_budget"])
        if not isinstance(g.get("points"), h5py.Group):
            raise Bad("no group /obfuscation/points")
        p = read(g["points"], {k: ("plans",) for k in g["points"]})
        for k in ["byte_fraction", "message_fraction", "on_front"]:
            if k not in p:
                raise Bad(f"no dataset /obfuscation/points/{k}")
        chosen = int(attrs["chosen"])
        within(np.array([chosen]), len(p["on_front"]), "the attribute chosen of /obfuscation")
    methods = [k[len("ari_"):] for k in sorted(p) if k.startswith("ari_")]
    if not methods:
        raise Bad("no eavesdropper's index (ari_*) in /obfuscation/points", args.file)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, cost, label in zip(axes, ["byte_fraction", "message_fraction"], ["extra bytes (%)", "extra messages (%)"]):
        x = 100 * p[cost]
        order = np.argsort(x, kind="stable")
        for i, method in enumerate(methods):
            y = p["ari_" + method]
            colour = plt.get_cmap("tab10")(i)
            ax.scatter(x, y, s=6, color=colour, alpha=0.25)
            ax.step(x[order], np.minimum.accumulate(y[order]), where="post", color=colour, label=method)
            ax.scatter([x[chosen]], [y[chosen]], s=80, facecolor="none", edgecolor=colour, linewidth=1.5)
        worst = np.max([p["ari_" + m] for m in methods], axis=0)
        ax.step(x[order], np.minimum.accumulate(worst[order]), where="post", color="black", linewidth=1.5,
                label="worst of them")
        ax.set_xlabel(label)
        ax.axhline(0.2, color="0.5", linestyle=":", linewidth=1)
    axes[0].axvline(100 * attrs["byte_budget"], color="0.5", linestyle="--", linewidth=1, label="byte budget")
    axes[0].set_ylabel("eavesdropper's adjusted Rand index")
    axes[0].legend(fontsize=8)
    front = int(p["on_front"].sum())
    fig.suptitle(f"cover traffic against {', '.join(methods)}: {len(x)} plans, {front} on the Pareto front; "
                 f"chosen: +{100 * p['byte_fraction'][chosen]:.1f}% bytes, worst index "
                 f"{max(p['ari_' + m][chosen] for m in methods):.3f}")
    fig.tight_layout()
    save_figure(fig, args.out, dpi=120)
    print(f"wrote {args.out}")


def plot_division(args):
    with open_run(args.file) as f:
        if "streams" not in f:
            raise Bad("no /streams group (not written by tessera streams analyze)")
        runs = list(f["streams"])
        if args.run is None and len(runs) != 1:
            raise Bad(f"runs {', '.join(runs)}; choose one with --run")
        name = args.run or runs[0]
        if name not in f["streams"]:
            raise Bad(f"no run '{name}' (runs: {', '.join(runs)})")
        g = f["streams"][name]
        attrs = attrs_of(g, ["step", "phase", "method", "view", "groups", "devices"] + ["trace"] * (not args.trace))
        if "true_layer" not in g:
            raise Bad(f"run '{name}' has no true_layer (its trace had no truth)")
        group, layer, pivots = read(g, {"group": ("devices",), "true_layer": ("devices",), "pivots": ("pivots",)},
                                    empty={"pivots"}).values()
        within(pivots, len(group), g.name + "/pivots")
    trace_path = trace_of(args, attrs)
    with reading(trace_path), h5py.File(trace_path, "r") as t:
        if not isinstance(t.get("trace"), h5py.Group):
            raise Bad("no /trace group (not a trace)")
        step, phase, src, dst = read(t["trace"], {k: ("streams",) for k in ("step", "phase", "src", "dst")}).values()
        keep = (step == attrs["step"]) & (phase == attrs["phase"])
        src, dst = src[keep], dst[keep]
        for k, values in (("src", src), ("dst", dst)):
            within(values, len(group), f"/trace/{k}")
        names = text(t["trace"].attrs["layer_names"]).split("\n") if "layer_names" in t["trace"].attrs else []

    # Each device at (its group, its place among the group's devices sorted by true layer).
    x = group.astype(float)
    y = np.zeros(len(group))
    for gid in np.unique(group):
        members = np.flatnonzero(group == gid)
        members = members[np.argsort(layer[members], kind="stable")]
        y[members] = (np.arange(len(members)) + 0.5) / len(members)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
    if len(src) <= MAX_DRAWN_STREAMS:
        for a, b in zip(src, dst):
            left.plot([x[a], x[b]], [y[a], y[b]], color="0.8", linewidth=0.3, zorder=1)
    cmap = plt.get_cmap("tab10")
    for value in np.unique(layer):
        on = layer == value
        label = names[value] if 0 <= value < len(names) else "dummy" if value < 0 else f"layer {value}"
        colour = "0.6" if value < 0 else cmap(int(value) % 10)
        left.scatter(x[on], y[on], s=8, color=colour, label=label, zorder=2)
    left.scatter(x[pivots], y[pivots], s=90, marker="*", facecolor="none", edgecolor="black", label="pivot", zorder=3)
    left.set_xlabel("recovered group (order of the flow; -1: no pivot reaches it)")
    left.set_yticks([])
    left.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    groups, layers = np.unique(group), np.unique(layer)
    table = np.array([[np.sum((group == gv) & (layer == lv)) for lv in layers] for gv in groups])
    right.imshow(np.log1p(table), cmap="Greys", aspect="auto")
    for i in range(len(groups)):
        for j in range(len(layers)):
            if table[i, j]:
                right.text(j, i, str(table[i, j]), ha="center", va="center", fontsize=7, color="tab:red")
    right.set_xticks(range(len(layers)), [str(v) for v in layers])
    right.set_yticks(range(len(groups)), [str(v) for v in groups])
    right.set_xlabel("true layer")
    right.set_ylabel("recovered group")
    score = f"ARI {attrs['adjusted_rand_index']:.3f}, exact {attrs['exact_fraction']:.3f}" if "adjusted_rand_index" in attrs else ""
    fig.suptitle(f"{attrs['method']} on the {attrs['view']} view: {attrs['groups']} groups for "
                 f"{len(layers)} layers, {attrs['devices']} devices; {score}")
    fig.tight_layout()
    save_figure(fig, args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
