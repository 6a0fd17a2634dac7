#!/usr/bin/env bash
# Builds everything and runs the whole test suite: unit, golden (vs PyTorch), CLI and end-to-end
# tests, then the bad-input tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then
# a short fuzzing run. Usage: bash scripts/test.sh   (after: bash scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}

echo "== build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DALEXNET_WERROR=ON > /dev/null
cmake --build build -j"$jobs"

echo "== tests (build took ${SECONDS}s)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

echo "== file, data and command-line tests (bad input included) under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALEXNET_SANITIZE=ON -DALEXNET_CUDA=OFF > /dev/null
cmake --build build-asan -j"$jobs" --target alexnet cli_test safetensors_test data_readers_test
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-asan/tests/safetensors_test --gtest_brief=1
build-asan/tests/data_readers_test --gtest_brief=1
build-asan/tests/cli_test --gtest_brief=1

if [ -x scripts/fuzz.sh ] || [ -f scripts/fuzz.sh ]; then
  echo "== fuzzing (short)"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi
echo "== all tests passed (${SECONDS}s)"
