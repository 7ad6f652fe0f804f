#!/usr/bin/python3
"""Writes the seed corpora of the fuzz harnesses to tests/fuzz/corpus/<harness>/.

Small valid (and a few almost valid) inputs per reader, made deterministically:
IDX files plain and gzipped, CIFAR-100 records, job files, and model files,
attack checkpoints and stream traces in the HDF5 schema the readers expect
(src/models/model_file.cpp, src/search/checkpoint.cpp, src/trace/reader.cpp). Needs
python3-h5py and python3-numpy (Debian).

    /usr/bin/python3 tests/fuzz/make_seeds.py              # rewrites every corpus
    /usr/bin/python3 tests/fuzz/make_seeds.py trace idx    # only these (harness names)
"""
import gzip
import os
import shutil
import struct
import sys

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def folder(name):
    path = os.path.join(ROOT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# --- IDX: magic 00 00 08 <ndims>, big-endian int32 sizes, unsigned bytes
def idx(dims, type_code=0x08, values=None):
    count = int(np.prod(dims))
    if values is None:
        values = bytes((i * 37 + 11) % 256 for i in range(count))
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + values


def make_idx():
    d = folder("idx")
    write(f"{d}/images-2x3x3.idx", idx([2, 3, 3]))
    write(f"{d}/labels-4.idx", idx([4], values=bytes([0, 1, 9, 3])))
    write(f"{d}/images-2x4x4.idx.gz", gz(idx([2, 4, 4])))
    write(f"{d}/labels-2.idx.gz", gz(idx([2], values=bytes([7, 2]))))
    write(f"{d}/rank4-1x1x2x2.idx", idx([1, 1, 2, 2]))
    write(f"{d}/matrix-3x2.idx", idx([3, 2]))
    # Rejected: float32 element type, and data one byte short.
    write(f"{d}/float32-2.idx", idx([2], type_code=0x0D, values=bytes(8)))
    write(f"{d}/short-2x2.idx", idx([2, 2])[:-1])


# --- CIFAR-100: records of coarse label, fine label, 3072 pixel bytes
def cifar_record(coarse, fine, seed):
    pixels = bytes((i * seed + coarse) % 256 for i in range(3072))
    return bytes([coarse, fine]) + pixels


def make_cifar():
    d = folder("cifar")
    write(f"{d}/one-record.bin", cifar_record(3, 42, 7))
    write(f"{d}/two-records.bin.gz", gz(cifar_record(0, 0, 1) + cifar_record(19, 99, 13)))
    # Rejected: a fine label out of range; a CIFAR-10 record (no coarse byte).
    write(f"{d}/bad-label.bin", cifar_record(5, 100, 3))
    write(f"{d}/cifar10-record.bin", cifar_record(1, 2, 5)[1:])


# --- job files (INI); the harness declares the options of src/cli/options.cpp
JOBS = {
    "minimal.ini": "[run]\nseed = 7\n",
    "quickstart.ini": """# The quick start
[run]
seed = 1

[data]
name = fashion-mnist
train_limit = 256

[train]
epochs = 2
batch = 128
lr = 0.05
momentum = 0.9
weight_decay = 0.0005
lr_step = 1
lr_gamma = 0.2
reuse = true

[blocks]
bh = 64
bw = 64
per_device = 1
placement = random

[serve]
mode = infer
batch = 256
""",
    "types.ini": """[run]
out = runs/a b=c
seed = 9223372036854775807
threads = -1
name =
[data]
test_limit = -9223372036854775808
[train]
lr = 1e-300
lr_gamma = nan
reuse = off
[blocks]
layers = classifier.0, classifier.3 ,,
[fuzz]
unset = -0.0
""",
    "other-sections.ini": """# other commands' sections are ignored
[attack]
method = ga
generations = 50
[model]
arch = mlp-mixnn
checkpoint = runs/quickstart/vgg-mini.h5
""",
    # Rejected: an unknown key in a section the command reads; a bad number.
    "unknown-key.ini": "[train]\nepochs = 1\nepoch = 2\n",
    "bad-value.ini": "[train]\nepochs = two\n",
}


def make_config():
    d = folder("config")
    for name, text in JOBS.items():
        write(f"{d}/{name}", text.encode())


# --- model files: /model with attributes arch, dataset, test_accuracy and one
# float32 dataset per parameter (names of the state_dict)
MLP_MIXNN = [("layers.0.weight", (128, 784)), ("layers.0.bias", (128,)),
             ("layers.2.weight", (64, 128)), ("layers.2.bias", (64,)),
             ("layers.4.weight", (10, 64)), ("layers.4.bias", (10,))]


def model_file(path, libver, params, arch="mlp-mixnn", layout="gzip", fixed_strings=False):
    with h5py.File(path, "w", libver=libver) as f:
        g = f.create_group("model")
        if fixed_strings:
            g.attrs.create("arch", np.bytes_(arch))
            g.attrs.create("dataset", np.bytes_("fashion-mnist"))
        else:
            g.attrs["arch"] = arch
            g.attrs["dataset"] = "fashion-mnist"
        g.attrs["test_accuracy"] = 0.8125
        for name, shape in params:
            values = np.zeros(shape, np.float32)
            values.flat[:: max(1, values.size // 7)] = 0.5
            if layout == "gzip":
                g.create_dataset(name, data=values, chunks=shape, compression="gzip", compression_opts=9)
            else:  # contiguous, never written: reads back the fill value, takes no space
                g.create_dataset(name, shape=shape, dtype=np.float32, fillvalue=0.25)


def make_model_file():
    d = folder("model_file")
    # Valid mlp-mixnn files (all weights present and shaped), kept small.
    model_file(f"{d}/mlp-mixnn-gzip-v108.h5", ("v108", "latest"), MLP_MIXNN)
    model_file(f"{d}/mlp-mixnn-unallocated-earliest.h5", "earliest", MLP_MIXNN, layout="empty",
               fixed_strings=True)
    # Rejected: a mis-shaped parameter; the arch of another network.
    model_file(f"{d}/misshaped.h5", ("v108", "latest"),
               [(n, (2, 3) if n == "layers.0.weight" else s) for n, s in MLP_MIXNN], layout="empty")
    model_file(f"{d}/other-arch.h5", "earliest", MLP_MIXNN[:2], arch="vgg-mini", layout="empty")


# --- attack checkpoints: /checkpoint with the attributes and datasets that
# write_checkpoint writes (generation G-1, P members of N positions, H held): every
# member a permutation of the positions, every best genome H distinct positions,
# accuracies, recoveries and diversities in [0, 1]
def checkpoint(path, libver, G=2, P=4, N=6, H=3, parts=(2, 2), snapshots=True, extra_root=True):
    rng = np.random.default_rng(1)
    with h5py.File(path, "w", libver=libver) as f:
        if extra_root:  # the root attributes io::OutputFile writes
            f.attrs["command"] = "attack checkpoint"
            f.attrs["config"] = "# tessera attack: resolved configuration\n"
            f.attrs["seed"] = np.int64(0)
        g = f.create_group("checkpoint")
        g.attrs["generation"] = np.int64(G - 1)
        g.attrs["fingerprint"] = "method=ga;seed=1;held=3"
        g.attrs["population"] = np.int64(P)
        g.attrs["held"] = np.int64(H)
        g.attrs["positions"] = np.int64(N)
        g["part_sizes"] = np.array(parts, np.int64)
        g["members"] = np.array([rng.permutation(N) for _ in range(P)], np.int32).reshape(-1)
        g["member_fitness"] = rng.random(P)
        g["member_accuracy"] = rng.random(P)
        g["fitness"] = rng.random(G * P)
        for name in ("best_fitness", "mean_fitness", "best_accuracy", "position_recovery", "diversity",
                     "wall_seconds"):
            g[name] = rng.random(G)
        g["best_genome"] = np.array([rng.permutation(N)[:H] for _ in range(G)], np.int32).reshape(-1)
        if snapshots:
            g["snapshot_generations"] = np.array([G - 1], np.int64)
            g["snapshots"] = np.array([rng.permutation(N) for _ in range(P)], np.int32).reshape(-1)


def make_checkpoint():
    d = folder("checkpoint")
    checkpoint(f"{d}/ga-v108.h5", ("v108", "latest"))
    checkpoint(f"{d}/sa-earliest.h5", "earliest", G=3, P=1, N=5, H=2, parts=(1,), snapshots=False,
               extra_root=False)
    # Rejected: member count does not match population x positions.
    checkpoint(f"{d}/inconsistent.h5", ("v108", "latest"), P=4, parts=(3, 2))


# --- stream traces: /trace with the int64 columns step, phase, seq, src, dst, bytes
# (one entry per message), optionally float64 t_start and t_end, attrs devices,
# forward_entry, forward_exit, layer_names and the deployment model, and
# /trace/truth/device_layer (docs/output.md "The stream trace", src/trace/writer.cpp)
def trace_events(arcs, steps=(0,), backward=True, timed=True):
    """The columns of a trace whose forward streams are `arcs` (in the order they
    start), the backward ones the same reversed, per step; times in that order."""
    rows = []
    for step in steps:
        for phase in ((0, 1) if backward else (0,)):
            order = arcs if phase == 0 else [(v, u) for u, v in reversed(arcs)]
            rows += [(step, phase, seq, u, v, 256 * (1 + (u + v) % 3)) for seq, (u, v) in enumerate(order)]
    cols = {name: np.array([r[i] for r in rows], np.int64)
            for i, name in enumerate(("step", "phase", "seq", "src", "dst", "bytes"))}
    if timed:
        start = np.arange(len(rows), dtype=np.float64) * 1.5e-3
        cols["t_start"], cols["t_end"] = start, start + 1e-3 + cols["bytes"] / 1.25e8
    return cols


def trace_file(path, libver, cols, attrs=None, truth=None, dtype=np.int64, layout="gzip"):
    """libver: "earliest" or "latest" (the lower bound). layout: "gzip" (chunked, one
    chunk, gzip level 1, as write_trace), "contiguous" or "compact" (the data in the
    object header). Chunked files stay small with "latest" (a single-chunk index, not
    a 2 KB B-tree node per dataset). No object keeps times: the same bytes every run."""
    def group(parent, name):  # without times, so that the files come out the same every time
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        gcpl.set_obj_track_times(False)
        return h5py.Group(h5py.h5g.create(parent.id, name.encode(), gcpl=gcpl))

    bounds = {"earliest": h5py.h5f.LIBVER_EARLIEST, "latest": h5py.h5f.LIBVER_LATEST}
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(bounds[libver], h5py.h5f.LIBVER_LATEST)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)  # the root group's
    with h5py.File(h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)) as f:
        g = group(f, "trace")
        for name, value in (attrs or {}).items():
            g.attrs[name] = value
        for name, values in cols.items():
            values = values if name.startswith("t_") else values.astype(dtype)
            if layout == "gzip":
                g.create_dataset(name, data=values, chunks=(max(1, len(values)),), compression="gzip",
                                 compression_opts=1, track_times=False)
            elif layout == "compact":
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_layout(h5py.h5d.COMPACT)
                dcpl.set_obj_track_times(False)
                space = h5py.h5s.create_simple(values.shape)
                h5py.h5d.create(g.id, name.encode(), h5py.h5t.py_create(values.dtype), space, dcpl=dcpl).write(
                    h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(values))
            else:
                g.create_dataset(name, data=values, track_times=False)
        if truth is not None:
            group(g, "truth").create_dataset("device_layer", data=np.array(truth, np.int64), track_times=False)


# entry 0 -> 1 -> blocks 2, 3 -> 4 -> exit 5, as tessera serve writes it
SERVED = [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5)]
SERVED_ATTRS = {"devices": np.int64(6), "forward_entry": np.int64(0), "forward_exit": np.int64(5)}


def make_trace():
    d = folder("trace")
    # Valid: tessera's own, with times, deployment model, layer names and truth (the
    # names a fixed-length string: a variable-length one adds a 4 KB global heap).
    attrs = dict(SERVED_ATTRS, layer_names=np.bytes_("client\nfeatures\nclassifier.0\nclassifier.3\nclient"),
                 device_flops=1e10, latency=1e-3, bandwidth=1.25e8, jitter=0.1)
    trace_file(f"{d}/served-timed-truth.h5", "latest", trace_events(SERVED), attrs, truth=[0, 1, 2, 2, 3, 4])
    # Valid: no times (the ordered view only), two steps, an idle device 6.
    trace_file(f"{d}/untimed-two-steps.h5", "earliest", trace_events(SERVED, steps=(0, 1), timed=False),
               dict(SERVED_ATTRS, devices=np.int64(7)), layout="contiguous")
    # Valid: a minimal third-party trace: the six columns only (int32,
    # compact), forward only, no attrs (entry and exit: the only source and sink).
    trace_file(f"{d}/third-party-minimal.h5", "latest",
               trace_events([(0, 2), (0, 3), (2, 1), (3, 1)], backward=False, timed=False), dtype=np.int32,
               layout="compact")
    # Rejected: columns of different lengths; a stream to a device past attr devices.
    cols = trace_events(SERVED, timed=False)
    cols["dst"] = cols["dst"][:-1]
    trace_file(f"{d}/short-column.h5", "latest", cols, SERVED_ATTRS, layout="contiguous")
    trace_file(f"{d}/device-out-of-range.h5", "latest", trace_events(SERVED),
               dict(SERVED_ATTRS, devices=np.int64(5), forward_exit=np.int64(4)), layout="contiguous")


# --- packets: masks XORed onto a valid packet (fuzz_packet.cpp): none (the valid
# packet), one bit in the header's first slot, one in the payload's tag region
def make_packet():
    d = folder("packet")
    write(f"{d}/no-change", bytes(16))
    write(f"{d}/slot-bit", bytes(40) + b"\x01")
    write(f"{d}/deep-bit", bytes(2800) + b"\x80")


MAKERS = {"idx": make_idx, "cifar": make_cifar, "config": make_config, "model_file": make_model_file,
          "checkpoint": make_checkpoint, "trace": make_trace, "packet": make_packet}


def main():
    names = sys.argv[1:] or list(MAKERS)
    unknown = [n for n in names if n not in MAKERS]
    if unknown:
        print(f"make_seeds: unknown corpus {' '.join(unknown)} (known: {' '.join(MAKERS)})", file=sys.stderr)
        return 2
    for name in names:
        MAKERS[name]()
    total = 0
    for dirpath, _, files in os.walk(ROOT):
        for name in sorted(files):
            total += os.path.getsize(os.path.join(dirpath, name))
    print(f"make_seeds: corpus in {ROOT}: {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
