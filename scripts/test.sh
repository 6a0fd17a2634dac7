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

echo "== tests (build took ${SECONDS}s; oneDNN runs this CPU as: $(build/src/alexnet info --json | tail -1 | sed -n 's/.*"cpu_isa":"\([^"]*\)".*/\1/p'))"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

# Most users' CPUs have AVX2 and no AVX-512 (so no native bf16): the suites whose results depend on
# oneDNN's kernels run again as on such a CPU. bf16 cases skip there, saying why; the rest must pass.
# Suites that never call oneDNN (readers, transforms, loader, CUDA, reference gradients) are not rerun.
echo "== oneDNN-dependent tests again as on an AVX2-only CPU (ONEDNN_MAX_CPU_ISA=AVX2) (${SECONDS}s)"
isa_independent='(^|/)(Cuda[A-Za-z]*|Canvas|Cifar|ColorJitter|Confusion|Crop|Curves|Download|EpochOrder|Filters|Flip|ImageCodec|ImageFolder|InputRule|Loader|Md5|Normalize|PcaLighting|Presets|RandomResizedCrop|ReaderChecks|RealData|Resize|SafetensorsTest|SampleRng|TenCrop|TensorDataset|ValidationSplit|OpenDataset|CliRandom|[A-Za-z]*Grad|GoldenLoss|GoldenAdaptiveAvgPool|Init|NetSpecFlops)\.|^InstallAndBuildAConsumer$'
ONEDNN_MAX_CPU_ISA=AVX2 build/src/alexnet info | grep -E "instruction set|bf16|auto picks"
ONEDNN_MAX_CPU_ISA=AVX2 ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900 -E "$isa_independent"

# The way most people build a CMake project: the default generator (Unix Makefiles), CUDA found or not.
echo "== plain cmake -S . -B build-make && cmake --build build-make (default generator) (${SECONDS}s)"
# (Debug: the same configure and link, compiled at -O0 to keep CI short.)
cmake -S . -B build-make -DCMAKE_BUILD_TYPE=Debug -DALEXNET_TESTS=OFF -DALEXNET_WERROR=ON > build-make.log
cmake --build build-make -j"$jobs" --target alexnet >> build-make.log || { tail -30 build-make.log; exit 1; }
echo "built $(ls build-make/src/alexnet) with $(grep -m1 CMAKE_GENERATOR: build-make/CMakeCache.txt | cut -d= -f2)"

echo "== file, data and command-line tests (bad input included) under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALEXNET_SANITIZE=ON -DALEXNET_CUDA=OFF > /dev/null
cmake --build build-asan -j"$jobs" --target alexnet cli_test safetensors_test data_readers_test input_rules_test cli_random_test split_test
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ALEXNET_PRECISION_PROBE=0  # reproducible --precision auto, as under ctest (tests/CMakeLists.txt)
build-asan/tests/safetensors_test --gtest_brief=1
build-asan/tests/data_readers_test --gtest_brief=1
build-asan/tests/cli_test --gtest_brief=1
build-asan/tests/input_rules_test --gtest_brief=1
# The model split: its plan and one column with leak checks; two columns under mpirun without (Open
# MPI's own allocations at exit are not ours).
build-asan/tests/split_test --gtest_brief=1 --gtest_filter='SplitPlan.*:Split.*'
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 build-asan/tests/split_test --gtest_brief=1 --gtest_filter='SplitMpi.*'
# Random datasets, models and flags for 90 s; prints its seed (ALEXNET_RANDOM_SEED=N replays it).
ALEXNET_RANDOM_SECONDS=${RANDOM_SECONDS:-90} build-asan/tests/cli_random_test --gtest_brief=1

if [ -x scripts/fuzz.sh ] || [ -f scripts/fuzz.sh ]; then
  echo "== fuzzing (short)"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
fi
echo "== all tests passed (${SECONDS}s)"
