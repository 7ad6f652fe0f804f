#!/usr/bin/env python3
"""MixNN against the plain model, from a `tessera mixnn` file (the paper's Fig. 4):
test accuracy per epoch (left) and training seconds per epoch (right), MixNN and
the plain model trained on the same batches in the same run; failures the designer
detected are marked on the epoch they hit. Prints a Markdown table of the epochs
(accuracy difference and time ratio) and the per-hop crypto cost against Sphinx's,
and, for a run with --mixnn.adversary, the adversary's models against the victim."""
import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tessera_h5 import Bad, attrs_of, open_run, read, run_script, save_figure  # noqa: E402

EPOCH_COLUMNS = ["epoch", "mixnn_accuracy", "plain_accuracy", "mixnn_seconds", "plain_seconds", "attempts"]
MEASURED = ["mixnn_accuracy", "plain_accuracy", "mixnn_seconds", "plain_seconds"]  # never NaN in a run's file
FAILURE_KINDS = {0: "crash", 1: "Byzantine"}
EXTRACTION = ["victim_accuracy", "learned_accuracy", "learned_agreement", "fine_tuned_accuracy", "fine_tuned_agreement",
              "public_accuracy", "public_agreement", "public_images", "middle_first_part", "middle_last_part",
              "middle_error"]
SOLVED = ["determined", "units", "dead", "held_out_error"]


def read_mixnn(path):
    """The /mixnn epochs, failures and attributes; any reason the file cannot be
    drawn is one line."""
    with open_run(path) as f:
        if "mixnn" not in f or "epochs" not in f["mixnn"]:
            raise Bad("no /mixnn/epochs (not written by tessera mixnn)")
        g = f["mixnn"]
        missing = [c for c in EPOCH_COLUMNS if c not in g["epochs"]]
        if missing:
            raise Bad("/mixnn/epochs lacks " + ", ".join(missing))
        epochs = read(g["epochs"], {c: ("epochs",) for c in EPOCH_COLUMNS})
        for c in MEASURED:
            nan = np.flatnonzero(np.isnan(epochs[c]))
            if len(nan):
                raise Bad(f"/mixnn/epochs/{c} is NaN at epoch {', '.join(str(int(epochs['epoch'][i])) for i in nan)}")
        failures = None
        if "failures" in g:
            failures = read(g["failures"], {c: ("failures",) for c in ("kind", "epoch")}, empty={"failures"})
        attrs = attrs_of(g)
        extraction = None
        if "extraction" in g:
            x = g["extraction"]
            extraction = attrs_of(x, EXTRACTION)
            solved = read(x, {k: ("parts",) for k in ["solved_parts"] + [f"solved/{k}" for k in SOLVED]},
                          empty={"parts"})
            extraction["solved_parts"] = solved["solved_parts"]
            extraction["solved"] = {k: solved[f"solved/{k}"] for k in SOLVED}
    return epochs, failures, attrs, extraction


def table(epochs, attrs):
    rows = ["| epoch | MixNN accuracy | plain accuracy | difference | MixNN s | plain s | ratio |",
            "|---|---|---|---|---|---|---|"]
    for i, e in enumerate(epochs["epoch"]):
        m, p = epochs["mixnn_accuracy"][i], epochs["plain_accuracy"][i]
        ms, ps = epochs["mixnn_seconds"][i], epochs["plain_seconds"][i]
        rows.append(f"| {int(e)} | {m:.4f} | {p:.4f} | {m - p:+.4f} | {ms:.2f} | {ps:.2f} | {ms / ps:.2f}x |")
    hop = attrs.get("crypto_microseconds_per_hop")
    sphinx = attrs.get("sphinx_microseconds_per_hop", 157.0)
    if hop is not None:
        rows.append("")
        rows.append(f"Crypto per hop (median over servers): {hop:.0f} us, {hop / sphinx:.2f}x Sphinx's {sphinx:.0f} us "
                    f"(packets of {int(attrs.get('packet_bytes', 0))} bytes).")
    return "\n".join(rows) + "\n"


def extraction_table(x):
    """The adversary of Theorem 1 (/mixnn/extraction) against the victim."""
    rows = ["| model | test accuracy | agreement with the victim |", "|---|---|---|",
            f"| the victim | {x['victim_accuracy']:.4f} | 1 |",
            f"| the adversary's (stolen and solved parts, the rest learned) | {x['learned_accuracy']:.4f} | "
            f"{x['learned_agreement']:.4f} |",
            f"| the same, fine-tuned | {x['fine_tuned_accuracy']:.4f} | {x['fine_tuned_agreement']:.4f} |",
            f"| public data alone ({int(x['public_images'])} images) | {x['public_accuracy']:.4f} | "
            f"{x['public_agreement']:.4f} |", ""]
    s = x["solved"]
    for i, part in enumerate(x["solved_parts"]):
        rows.append(f"Part {int(part)} solved: {int(s['determined'][i])} of {int(s['units'][i])} units determined, "
                    f"{int(s['dead'][i])} never active, held-out relative error {s['held_out_error'][i]:.2g}.")
    rows.append(f"Parts {int(x['middle_first_part'])}-{int(x['middle_last_part'])} against the victim's: "
                f"relative error {x['middle_error']:.2g}.")
    return "\n".join(rows) + "\n"


def plot(epochs, failures, attrs, out):
    fig, (acc, sec) = plt.subplots(1, 2, figsize=(10, 4))
    x = epochs["epoch"]
    acc.plot(x, epochs["plain_accuracy"], "o-", label="MLP (plain)")
    acc.plot(x, epochs["mixnn_accuracy"], "s--", label="MixNN")
    acc.set_xlabel("epoch")
    acc.set_ylabel("test accuracy")
    acc.set_title("(a) accuracy")
    width = 0.38
    sec.bar(x - width / 2, epochs["plain_seconds"], width, label="MLP (plain)")
    sec.bar(x + width / 2, epochs["mixnn_seconds"], width, label="MixNN")
    sec.set_xlabel("epoch")
    sec.set_ylabel("training seconds")
    sec.set_title("(b) time per epoch")
    if failures is not None:
        for kind, epoch in zip(failures["kind"], failures["epoch"]):
            acc.axvline(epoch, color="red", alpha=0.3)
            acc.annotate(FAILURE_KINDS.get(int(kind), "failure"), (epoch, acc.get_ylim()[0]), color="red",
                         fontsize=8, rotation=90, va="bottom")
    for ax in (acc, sec):
        ax.set_xticks(x)
        ax.legend()
    fig.suptitle(f"MixNN vs plain: {attrs.get('arch', '?')}, {attrs.get('dummies', '?')} dummies, "
                 f"pool {attrs.get('pool', '?')}")
    fig.tight_layout()
    save_figure(fig, out, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", help="HDF5 file written by tessera mixnn")
    parser.add_argument("-o", "--out", help="PNG to write (default: FILE.png, beside FILE)")
    args = parser.parse_args()
    epochs, failures, attrs, extraction = read_mixnn(args.file)
    out = args.out or os.path.splitext(args.file)[0] + ".png"
    plot(epochs, failures, attrs, out)
    print(table(epochs, attrs), end="")
    if extraction is not None:
        print()
        print(extraction_table(extraction), end="")
    print(f"wrote {out}")


if __name__ == "__main__":
    run_script(main)
