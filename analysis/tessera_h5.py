"""Shared helpers for reading tessera HDF5 files (h5py), and for failing on bad input
with one line: every script runs its main through `run_script`, reads each input inside
`reading` (or `open_run`, which does), reads the datasets it draws with `read`, and
writes its outputs through `writing` (or `save_figure`), so that a file that cannot
be used ends in one line "SCRIPT: FILE: why" on standard error, a non-zero exit and
no output file, never in a traceback."""
import configparser
import contextlib
import os
import re
import sys

import h5py


class Bad(Exception):
    """Why an input cannot be used, or an output not written: one line, "WHERE: why"
    (`where` is a file, filled in by `reading` when left out)."""

    def __init__(self, why, where=None):
        super().__init__(why)
        self.why, self.where = why, where

    def __str__(self):
        return f"{self.where}: {self.why}" if self.where else self.why


# What h5py and numpy raise on a file that is truncated, damaged (HDF5's checksums:
# RuntimeError; a link to nothing: None where a group was) or not the expected layout
# (a missing dataset or attribute, a value of the wrong type or shape).
READ_ERRORS = (OSError, RuntimeError, KeyError, ValueError, IndexError, TypeError, AttributeError)


def why(error):
    """One line for an error that h5py, numpy or the OS raised on a file."""
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    message = message.splitlines()[0] if message else type(error).__name__
    if isinstance(error, OSError):
        truncated = re.search(r"truncated file: eof = (\d+).*stored_eof = (\d+)", message)
        if truncated:
            return f"truncated ({truncated.group(1)} of its {truncated.group(2)} bytes)"
        if "file signature not found" in message:
            return "not an HDF5 file"
        if error.errno:
            return os.strerror(error.errno)
    if isinstance(error, (OSError, RuntimeError)):
        return f"damaged or truncated ({message})"
    if isinstance(error, KeyError):
        missing = re.search(r"object '([^']*)' doesn't exist|can't locate attribute: '([^']*)'", message)
        if missing:
            return f"no {'dataset or group' if missing.group(1) is not None else 'attribute'} " \
                   f"'{missing.group(1) or missing.group(2)}'"
        return f"cannot read ({message})" if "(" in message else f"no '{message}'"
    return f"unexpected content ({message})"


@contextlib.contextmanager
def reading(path):
    """Reads `path` inside the block: what h5py or numpy raise on it becomes Bad(why,
    path), and a Bad without a file gets this one."""
    try:
        yield
    except Bad as e:
        e.where = e.where or path
        raise
    except READ_ERRORS as e:
        raise Bad(why(e), path) from None


@contextlib.contextmanager
def open_run(path):
    """A tessera output file opened read-only for the block, read inside `reading`;
    Bad when it cannot be opened or is not one."""
    with reading(path), h5py.File(path, "r") as f:
        if "command" not in f.attrs:
            raise Bad("not a tessera output file (no 'command' attribute)")
        yield f


def read(group, shapes, known=None, empty=()):
    """The datasets of `group` named in `shapes` ({name: shape}), read whole, in a dict;
    Bad naming one that is missing, not a dataset, or not of its shape. A shape's
    entries: a length, None (any length), or a name: the datasets that share a name
    share that length (`known`: {name: length} given beforehand). A named length of 0
    is refused (nothing to draw) unless the name is in `empty`."""
    lengths, seen, data = dict(known or {}), {}, {}
    for name, shape in shapes.items():
        where = f"{group.name.rstrip('/')}/{name}"
        node = group.get(name)
        if not isinstance(node, h5py.Dataset):
            raise Bad(f"no dataset {where}")
        have = node.shape
        fits = len(have) == len(shape) and all(d is None or n == (d if isinstance(d, int) else lengths.get(d, n))
                                              for n, d in zip(have, shape))
        if not fits:
            expected = ", ".join("any" if d is None else f"{d}={lengths[d]}" if d in lengths else str(d) for d in shape)
            origins = sorted({seen[d] for n, d in zip(have, shape) if d in seen and lengths[d] != n}
                             if len(have) == len(shape) else {seen[d] for d in shape if d in seen})
            raise Bad(f"{where} has shape {have}, expected ({expected}{',' if len(shape) == 1 else ''})"
                      + (f" as {', '.join(origins)}" if origins else ""))
        for n, d in zip(have, shape):
            if isinstance(d, str):
                if n == 0 and d not in empty:
                    raise Bad(f"{where} is empty (0 {d}): nothing to draw")
                if d not in lengths:
                    lengths[d], seen[d] = n, where
        data[name] = node[()]
    return data


def run_script(main, prog=None):
    """Runs a script's main: Bad, or an error of h5py or numpy that escaped `reading`,
    is one line "PROG: why" on standard error and exit status 1."""
    prog = prog or os.path.basename(sys.argv[0])
    try:
        main()
    except Bad as e:
        sys.exit(f"{prog}: {e}")
    except READ_ERRORS as e:
        sys.exit(f"{prog}: {why(e)}")


@contextlib.contextmanager
def writing(*paths):
    """Temporary names beside the outputs `paths` for the block to write: when it ends
    they are renamed to the outputs, and on any failure no output is left (all are
    written whole or none is). An OSError is Bad naming the output it hit."""
    temps, done = [path + ".partial" for path in paths], []
    try:
        yield temps
        for temp, path in zip(temps, paths):
            os.replace(temp, path)
            done.append(path)
    except OSError as e:
        hit = [p for t, p in zip(temps, paths) if {str(e.filename), str(e.filename2)} & {t, p}]
        reason = os.strerror(e.errno) if e.errno else str(e).splitlines()[0]
        raise Bad(f"cannot write ({reason})", (hit or paths)[0]) from None
    finally:
        if len(done) < len(paths):
            for path in temps + done:
                if os.path.isfile(path) or os.path.islink(path):
                    os.remove(path)


def save_figure(fig, path, texts=None, **kwargs):
    """fig.savefig(path, **kwargs) and the text files `texts` ({path: content}) beside
    it, written whole or none at all (`writing`). The figure's format is its name's
    extension, as savefig's (none: savefig's default, appended to the name)."""
    fmt = os.path.splitext(path)[1][1:]
    if not fmt:
        fmt = fig.canvas.get_default_filetype()
        path = path.rstrip(".") + "." + fmt
    if fmt.lower() not in fig.canvas.get_supported_filetypes():
        raise Bad(f"cannot write: no figure format '{fmt}' (known: "
                  f"{', '.join(sorted(fig.canvas.get_supported_filetypes()))})", path)
    texts = texts or {}
    with writing(path, *texts) as (temp, *others):
        fig.savefig(temp, format=fmt, **kwargs)
        for other, content in zip(others, texts.values()):
            with open(other, "w") as f:
                f.write(content)


def resolved_config(f):
    """The resolved configuration stored in the file, as a ConfigParser."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text(f.attrs["config"]))
    except configparser.Error as e:
        raise Bad(f"its 'config' attribute is not a configuration ({str(e).splitlines()[0]})") from None
    return parser


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def attrs_of(node, needed=()):
    """The attributes of an h5py group or dataset as a dict, strings decoded; Bad
    naming it when one of `needed` is missing."""
    missing = [k for k in needed if k not in node.attrs]
    if missing:
        raise Bad(f"{node.name} lacks attribute(s) {', '.join(missing)}")
    return {k: (text(v) if isinstance(v, (bytes, str)) else v) for k, v in node.attrs.items()}


def runs_of(path, group):
    """The `group` ("drop", "swap") of every run in a tessera file: one for a file a
    command wrote, one per input for a file merge_runs.py wrote. Yields
    (run name, h5py group); the file stays open while iterating (read the groups
    inside `reading(path)`: errors in the caller's loop are not this generator's)."""
    with open_run(path) as f:
        if text(f.attrs["command"]) == "merge":
            runs = [(name, f["runs"][name]) for name in f["runs"]]
        else:
            runs = [(os.path.splitext(os.path.basename(path))[0], f)]
        for name, run in runs:
            if group not in run:
                raise Bad(f"run '{name}' has no /{group} group (not written by tessera {group})")
            yield name, run[group]
