#!/usr/bin/env python3
"""The GPU check's record (jobs/gpu-check.sh): every step's exit code, time and log,
the served and attack groups of its output files, and the benchmarks' tables, in
one HDF5 file, OUT/gpu-check.h5; the numbers that matter in OUT/summary.txt.

usage: gpu_check.py OUT --build-seconds S --device TEXT
"""
import argparse
import csv
import os
import re
import sys

try:
    import h5py
except ImportError:
    sys.exit("gpu_check.py: h5py is missing from this python")

from tessera_h5 import Bad, reading, run_script, text, writing  # noqa: E402

# The output file of each step that writes one, and the group copied from it.
STEP_FILES = {
    "train": ("vgg-mini.h5", "train"),
    "serve-nccl-1rank": ("serve-nccl-infer/serve.h5", "serve"),
    "serve-nccl-1rank-train": ("serve-nccl-train/serve.h5", "serve"),
    "serve-mpi-cuda-2ranks": ("serve-mpi-infer/serve.h5", "serve"),
    "serve-mpi-cuda-2ranks-train": ("serve-mpi-train/serve.h5", "serve"),
    "attack-sinkhorn-cpu": ("attack-cpu/attack-vgg-mini.h5", "attack"),
    "attack-sinkhorn-cuda": ("attack-cuda/attack-vgg-mini.h5", "attack"),
}
SERVE_ATTRS = ("backend", "device", "accuracy", "reference_accuracy", "max_logit_diff", "max_weight_diff",
               "seconds", "images")
ATTACK_ATTRS = ("device", "seconds", "evaluations", "floor_seconds", "functional_recovery", "test_accuracy",
                "true_test_accuracy", "test_fidelity")
# tessera's own lines ("tessera: ...", "tessera bench train: error: ..."), not a table's.
LOG_LINE = re.compile(r"^tessera[a-z ]*: ")


def attack_run(group):
    """The run group inside /attack (one per file here)."""
    for name in group:
        if isinstance(group[name], h5py.Group):
            return group[name]
    return group


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--build-seconds", type=float, default=float("nan"))
    parser.add_argument("--device", default="")
    args = parser.parse_args()
    steps_path = os.path.join(args.out, "steps.tsv")
    if not os.path.isfile(steps_path):
        raise Bad("missing: the check did not run", steps_path)
    with reading(steps_path), open(steps_path) as f:
        steps = [row for row in csv.reader(f, delimiter="\t") if row]
    for line, row in enumerate(steps, 1):
        try:
            name, rc, seconds, command = row
            int(rc), float(seconds)
        except ValueError:
            raise Bad(f"step {line} is not NAME, EXIT CODE, SECONDS, COMMAND (tab-separated): {row}",
                      steps_path) from None
    names = [row[0] for row in steps]
    for line, name in enumerate(names, 1):
        if names.index(name) + 1 != line:
            raise Bad(f"step {line}: '{name}' is step {names.index(name) + 1} too", steps_path)
    summary = [f"device: {args.device}", f"build: {args.build_seconds:.0f} s", ""]
    record_path, summary_path = os.path.join(args.out, "gpu-check.h5"), os.path.join(args.out, "summary.txt")
    with writing(record_path, summary_path) as (record_temp, summary_temp), h5py.File(record_temp, "w") as record:
        record.attrs["device"] = args.device
        record.attrs["build_seconds"] = args.build_seconds
        try:
            import torch
            record.attrs["torch"] = str(torch.__version__)
            record.attrs["cuda"] = str(torch.version.cuda)
            if torch.cuda.is_available():
                record.attrs["gpu"] = str(torch.cuda.get_device_name(0))
        except ImportError:
            pass
        for name, rc, seconds, command in steps:
            group = record.create_group(f"steps/{name}")
            group.attrs["exit_code"] = int(rc)
            group.attrs["seconds"] = float(seconds)
            group.attrs["command"] = command
            log_path = os.path.join(args.out, f"{name}.log")
            log = open(log_path, errors="replace").read() if os.path.isfile(log_path) else ""
            group.create_dataset("log", data=log)
            summary.append(f"{name}: exit {rc}, {seconds} s")
            if name in STEP_FILES:
                path, source = STEP_FILES[name]
                path = os.path.join(args.out, path)
                if int(rc) == 0 and os.path.isfile(path):
                    with reading(path), h5py.File(path, "r") as f:
                        if source in f:
                            f.copy(f[source], group, name=source)
                            found = group[source] if source != "attack" else attack_run(group[source])
                            wanted = SERVE_ATTRS if source == "serve" else ATTACK_ATTRS
                            for key in wanted:
                                if key in found.attrs:
                                    summary.append(f"    {key} = {text(found.attrs[key])}")
            if name.startswith("bench"):  # the tables
                summary += ["    " + line for line in log.splitlines() if line.strip() and not LOG_LINE.match(line)
                            and not line.startswith(("---", " "))]
            if name == "nccl-2ranks-refused":  # the one-line refusal
                summary += ["    " + line for line in log.splitlines() if LOG_LINE.match(line)]
        with open(summary_temp, "w") as f:
            f.write("\n".join(summary) + "\n")
    print("\n".join(summary))
    failed = [name for name, rc, _, _ in steps if int(rc) != 0]
    print(f"gpu_check.py: wrote {os.path.join(args.out, 'gpu-check.h5')}; "
          f"{len(steps) - len(failed)} of {len(steps)} steps passed" + (f", failed: {' '.join(failed)}" if failed else ""))


if __name__ == "__main__":
    run_script(main)
