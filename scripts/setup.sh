#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the PyTorch comparison scripts need.
# Idempotent: packages already present are skipped; `apt-get update` runs at most once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev opencl-headers ocl-icd-opencl-dev  # oneDNN: CPU kernels (its CMake config wants OpenCL headers)
  libjpeg62-turbo-dev libpng-dev    # image decoders
  libarchive-dev libcurl4-openssl-dev
  libcli11-dev nlohmann-json3-dev
  libgtest-dev googletest
  clang libclang-rt-14-dev          # sanitizers and libFuzzer
  python3 python3-numpy python3-torch python3-torchvision python3-pil  # golden files, side-by-side benchmarks
  libopenmpi-dev openmpi-bin        # data-parallel training over processes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
