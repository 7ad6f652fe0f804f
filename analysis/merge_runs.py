#!/usr/bin/env python3
"""Merges tessera output files of one command (the tasks of a Slurm job array, say)
into one file: each input becomes the group /runs/<input name> with its groups,
datasets and attributes (provenance included) copied unchanged. The plotting
scripts read merged files as well as single ones."""
import argparse
import os

import h5py

from tessera_h5 import Bad, open_run, run_script, text, writing


def copy_tree(source, target):
    """Copies a group's attributes, datasets and subgroups by value. (h5py's
    Group.copy, HDF5's H5Ocopy, crashed on these files with Debian's h5py 3.7.)"""
    for key, value in source.attrs.items():
        target.attrs[key] = value
    for key, item in source.items():
        if isinstance(item, h5py.Group):
            copy_tree(item, target.create_group(key))
        else:
            copy = target.create_dataset(key, data=item[()], chunks=item.chunks, compression=item.compression)
            for k, v in item.attrs.items():
                copy.attrs[k] = v


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("inputs", nargs="+", help="tessera HDF5 files, all written by the same command")
    parser.add_argument("--out", required=True, help="merged HDF5 file to write (written whole or not at all)")
    args = parser.parse_args()

    for path in args.inputs:
        if not os.path.isfile(path):
            raise Bad("no such file", path)
    for path in args.inputs:
        if os.path.exists(args.out) and os.path.samefile(path, args.out):
            raise Bad("is one of the inputs: the merge would replace it (give another --out)", args.out)
    names = [os.path.splitext(os.path.basename(p))[0] for p in args.inputs]
    if len(set(names)) != len(names):
        raise Bad("two inputs have the same file name")

    with writing(args.out) as (partial,), h5py.File(partial, "w") as out:
        runs = out.create_group("runs")
        commands = set()
        for path, name in zip(args.inputs, names):
            with open_run(path) as f:
                commands.add(text(f.attrs["command"]))
                if len(commands) > 1:
                    raise Bad(f"written by '{text(f.attrs['command'])}', "
                              f"the others by '{sorted(commands - {text(f.attrs['command'])})[0]}'")
                copy_tree(f, runs.create_group(name))
        out.attrs["command"] = "merge"
        out.attrs["merged_command"] = commands.pop()
        out.attrs["config"] = ""
        out.attrs["inputs"] = [os.path.basename(p) for p in args.inputs]
    print(f"merged {len(args.inputs)} files into {args.out}")


if __name__ == "__main__":
    run_script(main)
