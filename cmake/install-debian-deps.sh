#!/usr/bin/env bash
# Installs the Debian 12 packages tessera needs, non-interactively, skipping the
# ones already present. Safe to run again. Used by both README commands; with
# package names as arguments, installs those instead (the fuzz build's clang).
set -euo pipefail

packages=(
  build-essential cmake pkg-config zlib1g-dev
  libtorch-dev libopenblas0-openmp            # LibTorch; OpenBLAS replaces the 4 GFLOP/s reference BLAS
  libopenmpi-dev openmpi-bin                  # MPI (Open MPI 4.1, PMIx-enabled for srun)
  libhdf5-openmpi-dev                         # parallel HDF5 built on that MPI
  libboost-program-options-dev libboost-graph-dev
  libdlib-dev liblemon-dev                    # assignment solvers measured against tessera's
  libsodium-dev                               # MixNN's onion packets
  libgtest-dev
  dataset-fashion-mnist                       # the default data set (IDX files)
  slurm-wlm munge                             # batch scripts in slurm/, and the one-node Slurm of their test
  python3 python3-h5py python3-matplotlib python3-numpy
)
(($# == 0)) || packages=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-debian-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-debian-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Waits for another apt (a second build, an unattended upgrade) instead of failing.
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
