#!/usr/bin/env bash
# The GPU check: builds tessera on a GPU machine against its own PyTorch (LibTorch,
# CUDA, NCCL), then serves, benchmarks and attacks on the GPU beside the same
# machine's CPU, and records everything in one HDF5 file and a short summary
# (docs/gpu.md). Sized for one H100 or H200 in 8 minutes, the build included.
#
#   jobs/gpu-check.sh --fetch          on a machine that reaches Debian's mirror:
#                                      download what the GPU machine lacks (Open MPI,
#                                      parallel HDF5, Boost, libsodium, dlib, LEMON, a
#                                      Fashion-MNIST subset) into gpu-deps/ (ignored by
#                                      git; copy it with the checkout), under 60 MiB
#   jobs/gpu-check.sh [--out DIR]      on the GPU machine: the check; writes
#                                      DIR/gpu-check.h5 and DIR/summary.txt
#                                      (default runs/gpu-check)
#   jobs/gpu-check.sh --build-only     the build alone, no GPU needed
#   jobs/gpu-check.sh --cpu-rehearsal  every step with the CPU standing in for the GPU
#                                      (mpi for nccl, cpu for cuda): checks this script
#                                      on a machine without one
#
# The GPU machine needs python3 with torch (TORCH_PYTHON to name another), h5py,
# cmake, ninja or make, and a C++ compiler; nothing is fetched there.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEPS=$ROOT/gpu-deps
OUT=$ROOT/runs/gpu-check
BUILD=$ROOT/build-gpu
TORCH_PYTHON=${TORCH_PYTHON:-python3}
TRAIN_IMAGES=10000  # the training images carried (the test split is carried whole)

fail() {
  echo "gpu-check: $*" >&2
  exit 1
}

mode=check
while (($#)); do
  case $1 in
    --fetch) mode=fetch ;;
    --build-only) mode=build ;;
    --cpu-rehearsal) mode=rehearsal ;;
    --out) OUT=$(realpath -m "${2:?--out needs a folder}"); shift ;;
    --out=*) OUT=$(realpath -m "${1#--out=}") ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

# --- what the GPU machine lacks, from Debian's packages
# core: unpacked whole; fallback: only the libraries the machine's loader lacks.
CORE_PACKAGES=(
  openmpi-bin openmpi-common libopenmpi3 libopenmpi-dev libpmix2 libhwloc15 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libfabric1 libucx0 libibverbs1 librdmacm1 libnl-3-200 libnl-route-3-200 libpsm2-2
  libpsm-infinipath1 libnuma1 libmunge2
  libhdf5-openmpi-103-1 libhdf5-openmpi-dev libaec0 libsz2
  libboost1.74-dev libboost-program-options1.74.0 libboost-program-options1.74-dev
  libsodium23 libsodium-dev libdlib-dev liblemon-dev zlib1g zlib1g-dev
)
FALLBACK_PACKAGES=(
  libcurl4 libnghttp2-14 librtmp1 libssh2-1 libpsl5 libldap-2.5-0 libkrb5-3 libgssapi-krb5-2 libk5crypto3
  libkrb5support0 libkeyutils1 libcom-err2 libsasl2-2 libbrotli1 libgnutls30 libnettle8 libhogweed6 libgmp10
  libidn2-0 libunistring2 libtasn1-6 libp11-kit0 libffi8 libzstd1 libssl3 libudev1 libatomic1 libuuid1
)

fetch() {
  command -v apt-get > /dev/null || fail "--fetch needs apt-get (a Debian 12 machine that reaches its mirror)"
  rm -rf "$DEPS"
  mkdir -p "$DEPS/debs/core" "$DEPS/debs/fallback"
  apt-get -o DPkg::Lock::Timeout=600 update -qq || fail "apt-get update failed"
  local get=(apt-get -o APT::Sandbox::User=root download -qq)
  (cd "$DEPS/debs/core" && "${get[@]}" "${CORE_PACKAGES[@]}") || fail "could not download the core packages"
  (cd "$DEPS/debs/fallback" && "${get[@]}" "${FALLBACK_PACKAGES[@]}") || fail "could not download the fallback packages"
  python3 jobs/gpu_deps.py data /usr/share/datasets/fashion-mnist "$DEPS/data" "$TRAIN_IMAGES" ||
    fail "could not write the Fashion-MNIST subset (install dataset-fashion-mnist)"
  local mib
  mib=$(du -sm "$DEPS" | cut -f1)
  ((mib <= 60)) || fail "$DEPS is $mib MiB, over the 60 MiB it must fit in"
  echo "gpu-check: $DEPS holds $(ls "$DEPS"/debs/*/*.deb | wc -l) packages and the data, $mib MiB;" \
    "copy it with the checkout and run jobs/gpu-check.sh there"
}

# The environment of everything built from the prefix.
PREFIX=$DEPS/prefix/usr
use_prefix() {
  local arch_lib=$PREFIX/lib/x86_64-linux-gnu
  # Open MPI and PMIx find their plugins and help files from these, not from /usr.
  export OPAL_PREFIX=$PREFIX PMIX_PREFIX=$arch_lib/pmix2 PMIX_LIBDIR=$arch_lib/pmix2/lib
  export PMIX_DATADIR=$arch_lib/pmix2/share
  export PATH=$PREFIX/bin:$PATH
  export LD_LIBRARY_PATH=$arch_lib:$arch_lib/openmpi/lib:$arch_lib/pmix2/lib:$arch_lib/hdf5/openmpi${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export PKG_CONFIG_PATH=$arch_lib/pkgconfig:$PREFIX/share/pkgconfig
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
}

make_prefix() {
  [[ -d $DEPS/debs/core ]] || fail "no $DEPS/debs: run 'jobs/gpu-check.sh --fetch' on a machine that reaches" \
    "Debian's mirror and copy gpu-deps/ with the checkout"
  if [[ ! -x $PREFIX/bin/mpiexec ]]; then
    rm -rf "$DEPS/prefix"
    python3 jobs/gpu_deps.py unpack "$DEPS/debs/core" "$DEPS/prefix" || fail "could not unpack the core packages"
    python3 jobs/gpu_deps.py fill "$DEPS/debs/fallback" "$DEPS/prefix" "$PREFIX/lib/x86_64-linux-gnu" ||
      fail "could not unpack the fallback packages"
  fi
  use_prefix
}

build() {
  local start=$SECONDS torch_cmake generator=()
  torch_cmake=$("$TORCH_PYTHON" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2> /dev/null) ||
    fail "no PyTorch in $TORCH_PYTHON (set TORCH_PYTHON to the python that has it)"
  command -v ninja > /dev/null && generator=(-G Ninja)
  mkdir -p "$BUILD"
  local arch_lib=$PREFIX/lib/x86_64-linux-gnu
  cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DTESSERA_BUILD_TESTS=OFF \
    -DTESSERA_REQUIRE_CUDA=ON -DTORCH_CUDA_ARCH_LIST=9.0 -DCMAKE_PREFIX_PATH="$torch_cmake;$PREFIX" \
    -DMPI_C_COMPILER="$PREFIX/bin/mpicc" -DMPI_CXX_COMPILER="$PREFIX/bin/mpicxx" \
    -DMPIEXEC_EXECUTABLE="$PREFIX/bin/mpiexec" -DHDF5_C_COMPILER_EXECUTABLE="$PREFIX/bin/h5pcc" \
    -DBoost_DIR="$arch_lib/cmake/Boost-1.74.0" -DZLIB_INCLUDE_DIR="$PREFIX/include" \
    -DZLIB_LIBRARY="$arch_lib/libz.so" > "$BUILD/build.log" 2>&1 ||
    { tail -n 40 "$BUILD/build.log"; fail "configure failed (log: $BUILD/build.log)"; }
  grep '^-- tessera:' "$BUILD/build.log"
  cmake --build "$BUILD" -j "$(nproc)" --target tessera >> "$BUILD/build.log" 2>&1 ||
    { tail -n 40 "$BUILD/build.log"; fail "build failed (log: $BUILD/build.log)"; }
  # What the binary loads must be the prefix's, not something else on the machine.
  local libraries lib
  libraries=$(ldd "$BUILD/tessera")
  for lib in libmpi.so libhdf5 libsodium.so libboost_program_options.so libtorch_cuda.so libnccl.so; do
    grep -q "$lib.* => " <<< "$libraries" || fail "$BUILD/tessera does not load $lib"
    [[ $lib == libtorch_cuda.so || $lib == libnccl.so ]] && continue
    grep "$lib.* => " <<< "$libraries" | grep -q " => $DEPS/" ||
      fail "$BUILD/tessera loads $lib from outside $DEPS: $(grep "$lib" <<< "$libraries")"
  done
  BUILD_SECONDS=$((SECONDS - start))
  echo "gpu-check: built $BUILD/tessera in $BUILD_SECONDS s"
}

# --- the check: one step a line in $OUT/steps.tsv (name, exit code, seconds, log)
step() {
  local name=$1 start=$SECONDS rc
  shift
  echo "gpu-check: $name: $*"
  (cd "$OUT" && "$@") > "$OUT/$name.log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" "$*" >> "$OUT/steps.tsv"
  ((rc == 0)) || { echo "gpu-check: $name exited $rc; its log:"; tail -n 15 "$OUT/$name.log"; }
  return 0
}

check() {
  local rehearsal=$1 cuda=cuda nccl=nccl tessera=$BUILD/tessera
  if ((rehearsal)); then
    cuda=cpu
    nccl=mpi
  else
    command -v nvidia-smi > /dev/null && nvidia-smi -L 2> /dev/null | grep -q GPU ||
      fail "no GPU visible (nvidia-smi lists none): run this on a GPU machine (--build-only and" \
        "--cpu-rehearsal need none)"
  fi
  make_prefix
  build
  rm -rf "$OUT"
  mkdir -p "$OUT"
  : > "$OUT/steps.tsv"
  local data=(--data.dir="$DEPS/data") mpi=("$PREFIX/bin/mpiexec" --bind-to none)
  local model=(--model.checkpoint="$OUT/vgg-mini.h5")
  step train "$tessera" train --model.arch=vgg-mini --train.epochs=1 "${data[@]}" --run.out=.
  step serve-nccl-1rank "${mpi[@]}" -n 1 "$tessera" serve "${model[@]}" "${data[@]}" --comm.backend=$nccl \
    --run.out=serve-nccl-infer
  step serve-nccl-1rank-train "${mpi[@]}" -n 1 "$tessera" serve "${model[@]}" "${data[@]}" --comm.backend=$nccl \
    --serve.mode=train --serve.steps=10 --run.out=serve-nccl-train
  step serve-mpi-cuda-2ranks "${mpi[@]}" -n 2 "$tessera" serve "${model[@]}" "${data[@]}" --comm.backend=mpi \
    --comm.device=$cuda --run.out=serve-mpi-infer
  step serve-mpi-cuda-2ranks-train "${mpi[@]}" -n 2 "$tessera" serve "${model[@]}" "${data[@]}" \
    --comm.backend=mpi --comm.device=$cuda --serve.mode=train --serve.steps=10 --run.out=serve-mpi-train
  # NCCL refuses two ranks on one GPU: tessera must say so on every rank, not hang.
  ((rehearsal)) || step nccl-2ranks-refused bash -c "! $(printf '%q ' "${mpi[@]}") -n 2 $(printf '%q' "$tessera") \
    serve $(printf '%q ' "${model[@]}" "${data[@]}") --comm.backend=nccl --run.out=refused"
  local bench_service=(bench service --model.arch=vgg-mini "${data[@]}" --bench.block_sizes=64 --bench.repeats=5)
  # Each benchmark writes its file (NAME.h5) to a folder named after its step.
  step bench-service-cpu "${mpi[@]}" -n 2 "$tessera" "${bench_service[@]}" --comm.backend=mpi --comm.device=cpu \
    --run.out=bench-service-cpu
  step bench-service-mpi-cuda "${mpi[@]}" -n 2 "$tessera" "${bench_service[@]}" --comm.backend=mpi \
    --comm.device=$cuda --run.out=bench-service-mpi-cuda
  step bench-service-nccl "${mpi[@]}" -n 1 "$tessera" "${bench_service[@]}" --comm.backend=$nccl \
    --run.out=bench-service-nccl
  step bench-train-cpu "$tessera" bench train --model.arch=vgg-mini "${data[@]}" --bench.device=cpu --bench.repeats=3 \
    --run.out=bench-train-cpu
  step bench-train-cuda "$tessera" bench train --model.arch=vgg-mini "${data[@]}" --bench.device=$cuda \
    --bench.repeats=3 --run.out=bench-train-cuda
  step bench-fitness "$tessera" bench fitness "${model[@]}" "${data[@]}" --bench.device=$cuda --bench.repeats=3 \
    --run.out=bench-fitness
  local attack=(attack "${model[@]}" "${data[@]}" --attack.method=sinkhorn --sinkhorn.steps=60
    --attack.generations=60 --attack.drop_rate=0.9 --attack.replace=true)
  step attack-sinkhorn-cpu "${mpi[@]}" -n 2 "$tessera" "${attack[@]}" --attack.device=cpu --run.out=attack-cpu
  step attack-sinkhorn-cuda "${mpi[@]}" -n 2 "$tessera" "${attack[@]}" --attack.device=$cuda --run.out=attack-cuda
  "$TORCH_PYTHON" analysis/gpu_check.py "$OUT" --build-seconds "$BUILD_SECONDS" \
    --device "$( ((rehearsal)) && echo "CPU rehearsal" || nvidia-smi -L | head -n 1)" ||
    fail "could not write $OUT/gpu-check.h5"
}

case $mode in
  fetch) fetch ;;
  build) make_prefix; build ;;
  rehearsal) check 1 ;;
  check) check 0 ;;
esac
