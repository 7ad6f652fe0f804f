#!/usr/bin/env python3
"""Training curves of one or more model files written by `tessera train`:
test accuracy and training loss per epoch, one line per model."""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from tessera_h5 import open_run, read, resolved_config, run_script, save_figure, text  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="+", help="model HDF5 files from tessera train")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args()

    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    settings = ""
    for path in args.models:
        with open_run(path) as f:
            arch = text(f["model"].attrs["arch"])
            accuracy, loss = read(f, {"train/test_accuracy": ("epochs",), "train/train_loss": ("epochs",)}).values()
            cfg = resolved_config(f)
            settings = (f"{text(f['model'].attrs['dataset'])}, batch {cfg['train']['batch']}, "
                        f"lr {cfg['train']['lr']}, seed {cfg['run']['seed']}")
        epochs = range(1, len(accuracy) + 1)
        acc_ax.plot(epochs, accuracy, marker="o", label=f"{arch} (final {accuracy[-1]:.4f})")
        loss_ax.plot(epochs, loss, marker="o", label=arch)
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("test accuracy")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("mean training loss (cross-entropy)")
    for ax in (acc_ax, loss_ax):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"tessera train: {settings}")
    fig.tight_layout()
    save_figure(fig, args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_script(main)
