"""Compares two HDF5 files (or groups of them) for the end-to-end tests: every
dataset and attribute must be equal, except those named after --ignore.

usage: same_h5.py FILE[:GROUP] FILE[:GROUP] [--ignore NAME ...]

Prints "N datasets equal" and exits 0, or "PROBLEM ..." and exits 1.
"""
import argparse
import sys

import h5py
import numpy as np


def equal(a, b):
    """Equal values; NaN equals NaN (a value recorded as not measured, in both files)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def open_part(spec):
    path, _, group = spec.partition(":")
    f = h5py.File(path, "r")
    return f[group] if group else f


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--ignore", nargs="*", default=[])
    args = parser.parse_args()
    ignored = set(args.ignore)
    problems, count = [], 0

    def compare(x, y, path):
        nonlocal count
        for k in set(x.attrs) | set(y.attrs):
            if k in ignored:
                continue
            if k not in x.attrs or k not in y.attrs or not equal(x.attrs[k], y.attrs[k]):
                problems.append(f"{path} attr {k}")
        if isinstance(x, h5py.Dataset):
            count += 1
            if path.rsplit("/", 1)[-1] not in ignored and not equal(x[()], y[()]):
                problems.append(path)
            return
        if set(x) != set(y):
            problems.append(f"{path}: {sorted(x)} vs {sorted(y)}")
            return
        for k in x:
            compare(x[k], y[k], f"{path}/{k}")

    compare(open_part(args.a), open_part(args.b), "")
    if problems:
        print("PROBLEM differ:", problems)
        sys.exit(1)
    print(f"{count} datasets equal")


if __name__ == "__main__":
    main()
