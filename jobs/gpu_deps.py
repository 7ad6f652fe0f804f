#!/usr/bin/env python3
"""What jobs/gpu-check.sh carries to a GPU machine that reaches no package registry.

  gpu_deps.py data SRC DST TRAIN      a Fashion-MNIST subset: the first TRAIN training
                                      images and the whole test split, as gzipped IDX
  gpu_deps.py unpack DEBS PREFIX      every .deb of DEBS unpacked under PREFIX, made to
                                      work from there (see unpack)
  gpu_deps.py fill DEBS PREFIX LIB    the shared libraries of DEBS that this machine
                                      lacks, linked into LIB (see fill)

Python's standard library only: the GPU image has no dpkg.
"""
import gzip
import io
import lzma
import os
import re
import struct
import subprocess
import sys
import tarfile


def fail(message):
    print(f"gpu_deps.py: {message}", file=sys.stderr)
    sys.exit(1)


def write_idx_subset(source, target, count):
    with gzip.open(source, "rb") as f:
        data = f.read()
    magic, items = struct.unpack(">II", data[:8])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * (dims - 1), data[8:4 + 4 * dims]) if dims > 1 else ()
    item_bytes = 1
    for d in shape:
        item_bytes *= d
    count = min(count, items)
    header = struct.pack(">II", magic, count) + data[8:4 + 4 * dims]
    body = data[4 + 4 * dims:4 + 4 * dims + count * item_bytes]
    with gzip.open(target, "wb", compresslevel=9) as f:
        f.write(header + body)


def data(source, target, train):
    os.makedirs(target, exist_ok=True)
    for split, count in (("train", train), ("t10k", 1 << 30)):
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{split}-{kind}-ubyte.gz"
            path = os.path.join(source, name)
            if not os.path.isfile(path):
                fail(f"'{path}' is missing (install dataset-fashion-mnist)")
            write_idx_subset(path, os.path.join(target, name), count)


def deb_members(path):
    """The members of a .deb (an ar archive) by name."""
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            fail(f"'{path}' is not a Debian package")
        members = {}
        while True:
            header = f.read(60)
            if len(header) < 60:
                return members
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            members[name] = f.read(size)
            if size % 2:
                f.read(1)


def data_tar(path):
    members = deb_members(path)
    for name, payload in members.items():
        if name.startswith("data.tar"):
            if name.endswith(".xz"):
                payload = lzma.decompress(payload)
            elif name.endswith(".gz"):
                payload = gzip.decompress(payload)
            elif name.endswith(".zst"):
                payload = subprocess.run(["zstd", "-dc"], input=payload, capture_output=True, check=True).stdout
            return tarfile.open(fileobj=io.BytesIO(payload))
    fail(f"'{path}' has no data.tar")


def unpack(debs, prefix):
    """Unpacks every package of `debs` under `prefix`, then makes it work from there:
    absolute symbolic links point inside the prefix; the links that Debian's
    alternatives make at install time (mpicxx, mpiexec, h5pcc, ...) are made; the
    scripts and pkg-config files that name /usr as their prefix name the prefix's."""
    prefix = os.path.abspath(prefix)
    os.makedirs(prefix, exist_ok=True)
    packages = sorted(f for f in os.listdir(debs) if f.endswith(".deb"))
    if not packages:
        fail(f"no .deb files in '{debs}' (run jobs/gpu-check.sh --fetch where Debian's mirror is reachable)")
    for name in packages:
        with data_tar(os.path.join(debs, name)) as tar:
            for member in tar.getmembers():
                if member.isdev():
                    continue
                tar.extract(member, prefix, set_attrs=False)
                if member.isfile():
                    os.chmod(os.path.join(prefix, member.name), member.mode | 0o600)
    for root, dirs, files in os.walk(prefix):
        for entry in dirs + files:
            path = os.path.join(root, entry)
            if os.path.islink(path) and os.readlink(path).startswith("/"):
                target = prefix + os.readlink(path)
                os.unlink(path)
                os.symlink(os.path.relpath(target, root), path)
    bin_dir = os.path.join(prefix, "usr/bin")
    for tool in ("mpicc", "mpicxx", "mpiexec", "mpirun", "h5pcc"):
        path = os.path.join(bin_dir, tool)
        if not os.path.lexists(path) and os.path.exists(path + ".openmpi"):
            os.symlink(tool + ".openmpi", path)
    usr = os.path.join(prefix, "usr")
    pattern = re.compile(r'^(prefix|exec_prefix)=("?)/usr("?)$', re.M)
    for root, _, files in os.walk(prefix):
        for entry in files:
            path = os.path.join(root, entry)
            script = entry.startswith("h5") and os.path.basename(root) == "bin"
            if os.path.islink(path) or not (entry.endswith(".pc") or script):
                continue
            with open(path, errors="surrogateescape") as f:
                text = f.read()
            with open(path, "w", errors="surrogateescape") as f:
                f.write(pattern.sub(lambda m: f"{m.group(1)}={m.group(2)}{usr}{m.group(3)}", text))
    print(f"gpu_deps.py: {len(packages)} packages unpacked in {prefix}")


def fill(debs, prefix, lib):
    """Unpacks the packages of `debs` aside (PREFIX/fallback) and links into `lib`
    only the shared libraries whose name the machine's loader does not know
    (ldconfig -p): the machine's own copies are used where it has them, Debian's
    fill the gaps."""
    aside = os.path.join(os.path.abspath(prefix), "fallback")
    unpack(debs, aside)
    try:
        known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        known = ""
    provided = set(re.findall(r"^\s+(\S+) \(", known, re.M))
    os.makedirs(lib, exist_ok=True)
    linked = []
    for root, _, files in os.walk(aside):
        for entry in files + [d for d in os.listdir(root) if os.path.islink(os.path.join(root, d))]:
            if re.search(r"\.so\.\d+$", entry) and entry not in provided:
                target = os.path.join(lib, entry)
                if not os.path.lexists(target):
                    os.symlink(os.path.join(root, entry), target)
                    linked.append(entry)
    print(f"gpu_deps.py: from {debs}, the machine lacks {len(linked)}: {' '.join(sorted(linked)) or 'none'}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "data":
        data(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "unpack":
        unpack(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "fill":
        fill(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        fail("usage: gpu_deps.py data SRC DST TRAIN | unpack DEBS PREFIX | fill DEBS PREFIX LIB")


if __name__ == "__main__":
    main()
