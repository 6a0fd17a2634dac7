#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the PyTorch comparison scripts need.
# Idempotent: packages already present are skipped; `apt-get update` runs at most once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev opencl-headers ocl-icd-opencl-dev  # oneDNN: CPU kernels (its CMake config wants OpenCL headers)
  libjpeg62-turbo-dev libpng-dev    # image decoders
  libarchive-dev libcurl4-openssl-dev zlib1g-dev  # tars; meta.mat's compressed elements (zlib)
  libcli11-dev nlohmann-json3-dev
  libgtest-dev googletest
  clang libclang-rt-14-dev          # sanitizers and libFuzzer
  python3 python3-numpy python3-torch python3-torchvision python3-pil  # golden files, side-by-side benchmarks
  python3-scipy                     # MAT-files written and read by scipy (tests/imagenet_test.cpp)
  libopenmpi-dev openmpi-bin        # data-parallel training over processes
  libonnx-dev libprotobuf-dev python3-venv  # alexnet export (ONNX); a venv for the onnxruntime tests
  protobuf-compiler                 # TensorBoard event files (src/report/tensorboard.proto)
)

# The venv for the tests that need PyPI packages, so Debian's numpy (which python3-torch needs) stays as
# it is: onnxruntime and onnx for the export tests (tests/onnx_export_test.cpp), Pillow for
# tools/onnx_predict.py (docs/deploy.md), tensorboard for the event-file test
# (tests/tensorboard_test.cpp). Without PyPI those tests skip, saying why.
ONNX_VENV="${ALEXNET_VENV:-/opt/alexnet-venv}"
install_onnxruntime() {
  if "$ONNX_VENV/bin/python3" -c "import onnxruntime, onnx, numpy, PIL, tensorboard" 2>/dev/null; then
    echo "setup: onnxruntime, Pillow and tensorboard present in $ONNX_VENV"
    return 0
  fi
  if $SUDO /usr/bin/python3 -m venv "$ONNX_VENV" &&
     $SUDO "$ONNX_VENV/bin/pip" install --quiet --disable-pip-version-check --retries 2 --timeout 30 onnxruntime onnx numpy pillow tensorboard; then
    echo "setup: onnxruntime, Pillow and tensorboard installed in $ONNX_VENV"
  else
    echo "setup: warning: could not install onnxruntime, Pillow and tensorboard from PyPI into $ONNX_VENV: the ONNX Runtime, deploy and TensorBoard tests will skip" >&2
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  install_onnxruntime
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_onnxruntime
