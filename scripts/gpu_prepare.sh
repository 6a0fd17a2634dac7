#!/usr/bin/env bash
# Prepares the GPU check. Runs on the build machine (no GPU needed): builds the CUDA programs and gathers
# them, with every shared library they need that is not part of CUDA, into .device/ (git-ignored), packed
# as .device/bundle.tar.xz (about 25 MiB; unpacked ~100 MiB, more than may travel):
#   bin/    alexnet, cuda_test, layers_test (stripped), and golden/ (tests/golden: the PyTorch references)
#   lib/    non-CUDA shared libraries (oneDNN, libstdc++, libgomp, libarchive's and libcurl's dependencies, ...)
#   glibc/  this machine's C library and loader, used only if the GPU machine's is older
# and .device/MANIFEST (commit, date, files).
# The GPU machine supplies the CUDA driver, cuBLAS and cuDNN (cudart is linked statically). Then, there:
#   bash scripts/gpu_check.sh            (with .device/ carried along; see docs/cuda-backend.md)
#
#   scripts/gpu_prepare.sh [build-dir]   (default build-cuda; JOBS=2 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-cuda}
JOBS=${JOBS:-2}
LIMIT_MB=60  # what may travel with the working tree

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DALEXNET_CUDA=ON
cmake --build "$BUILD" -j"$JOBS" --target alexnet cuda_test layers_test

rm -rf .device
mkdir -p .device/bin .device/lib .device/glibc
# The CIFAR-10 JPEGs (16 MB) for the GPU check's RECIPE=1 mode, when they are beside the repository.
if [ -f ../shared/data/cifar10-jpeg-train.tar.gz ]; then mkdir -p .device/data && cp ../shared/data/cifar10-jpeg-train.tar.gz .device/data/; fi
for b in "$BUILD/src/alexnet" "$BUILD/tests/cuda_test" "$BUILD/tests/layers_test"; do
  strip -o ".device/bin/$(basename "$b")" "$b"
done
# The golden files next to the test programs, where they look for them (tests/test_util.h), and
# where gpu_check.sh points ALEXNET_GOLDEN_DIR.
cp -r tests/golden .device/bin/golden

ldd .device/bin/alexnet .device/bin/cuda_test .device/bin/layers_test | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u | while read -r name path; do
  case "$name" in
    libcuda.so* | libcudart* | libcublas* | libcudnn* | libnvrtc* | libnvJitLink*) ;;  # the GPU machine's own
    libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | libresolv.so*) cp -L "$path" .device/glibc/ ;;
    *) cp -L "$path" .device/lib/ ;;
  esac
done
cp -L /lib64/ld-linux-x86-64.so.2 .device/glibc/

{
  echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD -- src cmake tests || echo ' (with uncommitted changes)')"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n)"
  echo "nvcc $(nvcc --version 2>/dev/null | sed -n 's/.*release \([0-9.]*\).*/\1/p' || true)"
  (cd .device && find . -type f ! -name MANIFEST | sort | xargs ls -l)
} > .device/MANIFEST

tar -C .device -cf - bin lib glibc | xz -6 -T"$JOBS" > .device/bundle.tar.xz
rm -rf .device/bin .device/lib .device/glibc
size_mb=$(du -sm .device | cut -f1)
echo "gpu_prepare: .device/ holds ${size_mb} MiB:"
sed -n '1,3p' .device/MANIFEST
if [ "$size_mb" -gt "$LIMIT_MB" ]; then
  echo "gpu_prepare: .device/ is over ${LIMIT_MB} MiB and may not travel" >&2
  exit 1
fi
