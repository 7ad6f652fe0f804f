#!/usr/bin/env bash
# Builds build-cuda/: tessera against a CUDA LibTorch, with the NCCL backend
# linked. The LibTorch is the PyPI torch wheel of the GPU image's version (pinned
# below), installed with its nvidia-* wheels (CUDA runtime, cuBLAS, cuDNN, NCCL)
# into a virtual environment inside the build folder; the rest (Open MPI,
# parallel HDF5, Boost, libsodium) comes from the Debian packages of
# install-debian-deps.sh. Needs the CUDA toolkit (nvcc) for LibTorch's CMake
# files; needs no GPU. Idempotent: a second run only rebuilds what changed.
#
# Then `cd build-cuda && ctest -L cuda` runs what can run without a GPU.
# About 4.5 GiB of disk (the wheels); the time and size of the last build are
# printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=2.11.0  # the GPU image's PyTorch (2.11.0+cu130); the PyPI wheel is built on CUDA 13.0
BUILD=build-cuda
VENV=$BUILD/torch-venv
start=$SECONDS

fail() {
  echo "build-cuda: $*" >&2
  exit 1
}

bash cmake/install-debian-deps.sh
command -v nvcc > /dev/null || [[ -x /usr/local/cuda/bin/nvcc ]] ||
  fail "no CUDA toolkit (nvcc) found: LibTorch's CMake files need it, and NCCL's headers come with it"
export PATH=$PATH:/usr/local/cuda/bin

# The wheel, pinned; reinstalled only when the version differs.
mkdir -p "$BUILD"
if [[ ! -x $VENV/bin/python ]]; then
  python3 -m venv "$VENV" 2> /dev/null || {
    bash cmake/install-debian-deps.sh python3-venv
    /usr/bin/python3 -m venv "$VENV"
  } || fail "cannot create a Python virtual environment in $VENV"
fi
torch_version() { "$VENV/bin/python" -c "import torch; print(torch.__version__, torch.version.cuda)" 2> /dev/null; }
have=$(torch_version || true)
version=${have%% *}
if [[ ${version%%+*} != "$TORCH_VERSION" ]]; then
  echo "build-cuda: installing torch==$TORCH_VERSION and its CUDA wheels into $VENV (about 4.5 GiB)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "torch==$TORCH_VERSION" ||
    fail "pip could not install torch==$TORCH_VERSION"
  have=$(torch_version) || fail "torch==$TORCH_VERSION does not import in $VENV"
fi
torch_cmake=$("$VENV/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2> /dev/null)
echo "build-cuda: LibTorch ${have% *} (CUDA ${have#* })"

jobs=$(nproc)
# No GPU here to detect an architecture from: name the GPU machines' (H100, H200).
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_cmake" \
  -DTORCH_CUDA_ARCH_LIST=9.0 -DTESSERA_REQUIRE_CUDA=ON > "$BUILD/build.log" 2>&1 ||
  { tail -n 40 "$BUILD/build.log"; fail "configure failed (log: $BUILD/build.log)"; }
grep '^-- tessera:' "$BUILD/build.log" || true
echo "build-cuda: compiling tessera with $jobs jobs (log: $BUILD/build.log)"
# Only the binary: the cuda tests run it; the GoogleTest suites are the CPU build's.
cmake --build "$BUILD" -j "$jobs" --target tessera >> "$BUILD/build.log" 2>&1 ||
  { tail -n 60 "$BUILD/build.log"; fail "build failed (log: $BUILD/build.log)"; }
echo "build-cuda: done in $((SECONDS - start)) s, $(du -sh "$BUILD" | cut -f1) on disk ($BUILD/tessera)"
