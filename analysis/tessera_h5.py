"""Shared helpers for reading tessera HDF5 files (h5py)."""
import configparser
import os

import h5py


def open_run(path):
    """Opens a tessera output file read-only; a clear error if it is not one."""
    f = h5py.File(path, "r")
    if "command" not in f.attrs:
        f.close()
        raise SystemExit(f"{path}: not a tessera output file (no 'command' attribute)")
    return f


def open_or_exit(path, prog):
    """open_run, or one line "PROG: PATH: why" and exit when the file cannot be read."""
    try:
        return open_run(path)
    except OSError as e:
        why = os.strerror(e.errno) if e.errno else "not an HDF5 file (" + str(e).splitlines()[0] + ")"
        raise SystemExit(f"{prog}: {path}: {why}")
    except SystemExit as e:  # open_run's "<path>: <reason>"
        raise SystemExit(f"{prog}: {e}")


def resolved_config(f):
    """The resolved configuration stored in the file, as a ConfigParser."""
    parser = configparser.ConfigParser()
    parser.read_string(f.attrs["config"])
    return parser


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def runs_of(path, group):
    """The `group` ("drop", "swap") of every run in a tessera file: one for a file a
    command wrote, one per input for a file merge_runs.py wrote. Yields
    (run name, h5py group); the file stays open while iterating."""
    with open_run(path) as f:
        if text(f.attrs["command"]) == "merge":
            runs = [(name, f["runs"][name]) for name in f["runs"]]
        else:
            runs = [(os.path.splitext(os.path.basename(path))[0], f)]
        for name, run in runs:
            if group not in run:
                raise SystemExit(f"{path}: run '{name}' has no /{group} group (not written by tessera {group})")
            yield name, run[group]

