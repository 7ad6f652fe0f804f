#!/usr/bin/env bash
# Installs what the fuzz build needs on top of cmake/install-debian-deps.sh:
# clang 14 and its libFuzzer (Debian 12 packages), non-interactively, skipping
# what is present. Kept apart from the main list: only tests/fuzz/run.sh needs it.
set -euo pipefail

packages=(clang-14 libfuzzer-14-dev)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-fuzz-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-fuzz-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
