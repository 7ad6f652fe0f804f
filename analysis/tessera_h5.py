"""Shared helpers for reading tessera HDF5 files (h5py)."""
import configparser

import h5py


def open_run(path):
    """Opens a tessera output file read-only; a clear error if it is not one."""
    f = h5py.File(path, "r")
    if "command" not in f.attrs:
        f.close()
        raise SystemExit(f"{path}: not a tessera output file (no 'command' attribute)")
    return f


def resolved_config(f):
    """The resolved configuration stored in the file, as a ConfigParser."""
    parser = configparser.ConfigParser()
    parser.read_string(f.attrs["config"])
    return parser


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)
