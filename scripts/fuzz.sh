#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ with clang (-fsanitize=fuzzer,address,undefined) and runs
# each for a bounded time from a generated seed corpus, printing how many inputs each executed.
# Exits non-zero when a harness finds a crash, a sanitizer report or a leak (the log is printed).
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS (default 20)] [BUILD_DIR (default build-fuzz)]
#
# FUZZ_ONLY="checkpoint_fuzz ..." runs only those harnesses; FUZZ_JOBS=N builds N objects at a time
# (default: all at once). A reused BUILD_DIR rebuilds only what changed; any failed compile or link
# stops the script before fuzzing. fuzz/corpus/<name>/ (committed) seeds each harness besides the generated
# seeds; docs/fuzzing.md has the longer campaign and its results.
#
# Needs clang and libclang-rt-14-dev (scripts/setup.sh installs both).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
out=${2:-$root/build-fuzz}
case "$out" in /*) ;; *) out="$root/$out" ;; esac
cxx=${FUZZ_CXX:-}
if [ -z "$cxx" ]; then
  for c in clang++-14 clang++; do command -v "$c" >/dev/null && { cxx=$c; break; }; done
fi
[ -n "$cxx" ] || { echo "fuzz: no clang++ found (install clang and libclang-rt-14-dev)" >&2; exit 1; }

harnesses=(image_decode_fuzz cifar_fuzz image_folder_fuzz checkpoint_fuzz tensor_loader_fuzz run_config_fuzz
           meta_mat_fuzz)
sources=(src/data/image_codec.cpp src/data/readers.cpp src/data/cifar.cpp src/data/image_folder.cpp
         src/data/tensor_dataset.cpp src/data/loader.cpp src/data/transforms.cpp src/data/transforms_resize.cpp
         src/data/transforms_crop.cpp src/data/transforms_colour.cpp src/data/tar_index.cpp
         src/data/cache_dir.cpp src/data/imagenet.cpp src/data/mat_file.cpp
         src/tensor/tensor.cpp src/tensor/safetensors.cpp src/core/atomic_file.cpp src/core/crc32c.cpp
         src/rundir/run_dir.cpp
         src/model/weights.cpp src/model/net_spec.cpp src/model/layers.cpp
         src/train/checkpoint.cpp src/train/schedule.cpp src/train/config.cpp)
# Image encoding and the Image type, when this tree has them in src/image/.
for f in "$root"/src/image/*.cpp; do [ -f "$f" ] && sources+=("${f#"$root"/}"); done
# The names of backends and precisions that the training config uses, built without instrumentation
# and one section per function, so that --gc-sections drops the backends themselves (no oneDNN).
plain_sources=(src/backend/net.cpp)
[ -f "$root/src/backend/capabilities.cpp" ] && plain_sources+=(src/backend/capabilities.cpp)
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cxxflags="-std=c++20 -O1 -g -march=x86-64-v3 -I$root/src"
plainflags="$cxxflags -ffunction-sections -fdata-sections"
cxxflags="$cxxflags $sanitize"
libs="-ljpeg -lpng -larchive -lz -pthread -Wl,--gc-sections"

mkdir -p "$out/obj" "$out/seeds"
echo "fuzz: building with $cxx into $out"

# Rebuild only what changed: a target is rebuilt when it is missing, when the compiler or flags
# differ from the last build's, or when one of the files its dependency list (-MMD) names is newer.
# A target is deleted before it is rebuilt, so a failed build never leaves an old one to be run.
stamp="$cxx|$cxxflags|$plainflags|$libs"
same_flags=0
[ -f "$out/flags" ] && [ "$(cat "$out/flags")" = "$stamp" ] && same_flags=1
stale() {  # stale TARGET [PREREQUISITE...]: true when TARGET must be rebuilt
  local target=$1 dep
  shift
  [ "$same_flags" = 1 ] && [ -f "$target" ] && [ -f "$target.d" ] || return 0
  for dep in $(sed -e 's/\\$//' -e '1s/^[^:]*://' "$target.d") "$@"; do
    if [ ! -e "$dep" ] || [ "$dep" -nt "$target" ]; then return 0; fi
  done
  return 1
}
# Background builds: each is waited for by its pid and a failure stops the script.
pids=()
names=()
failed=0
jobs=${FUZZ_JOBS:-0}
reaped=0
reap() {  # reap N: wait for the oldest builds until at most N are running
  while [ $((${#pids[@]} - reaped)) -gt "$1" ]; do
    if ! wait "${pids[$reaped]}"; then
      echo "fuzz: building ${names[$reaped]} FAILED" >&2
      failed=1
    fi
    reaped=$((reaped + 1))
  done
}
build() {  # build TARGET COMMAND...: runs COMMAND in the background (after deleting TARGET)
  local target=$1
  shift
  rm -f "$target"
  "$@" &
  pids+=($!)
  names+=("$(basename "$target")")
  if [ "$jobs" -gt 0 ]; then reap $((jobs - 1)); fi
}
objects=()
for s in "${sources[@]}"; do
  o="$out/obj/$(basename "${s%.cpp}").o"
  objects+=("$o")
  stale "$o" && build "$o" "$cxx" $cxxflags -fsanitize=fuzzer-no-link -MMD -MF "$o.d" -c "$root/$s" -o "$o"
done
for s in "${plain_sources[@]}"; do
  o="$out/obj/plain_$(basename "${s%.cpp}").o"
  objects+=("$o")
  stale "$o" && build "$o" "$cxx" $plainflags -MMD -MF "$o.d" -c "$root/$s" -o "$o"
done
reap 0
[ "$failed" = 0 ] || { echo "fuzz: a compile failed; nothing is fuzzed" >&2; exit 1; }
rebuilt=${#pids[@]}
for h in "${harnesses[@]}" make_seeds; do
  flags="-fsanitize=fuzzer"
  [ "$h" = make_seeds ] && flags="-fsanitize=fuzzer-no-link"
  stale "$out/$h" "${objects[@]}" &&
    build "$out/$h" "$cxx" $cxxflags $flags -MMD -MF "$out/$h.d" "$root/fuzz/$h.cpp" "${objects[@]}" $libs -o "$out/$h"
done
reap 0
[ "$failed" = 0 ] || { echo "fuzz: a build failed; nothing is fuzzed" >&2; exit 1; }
echo "$stamp" > "$out/flags"
echo "fuzz: $rebuilt of ${#objects[@]} objects and $((${#pids[@]} - rebuilt)) programs rebuilt"
rm -rf "$out/seeds"
"$out/make_seeds" "$out/seeds"

total=0
[ -n "${FUZZ_ONLY:-}" ] && read -r -a harnesses <<< "$FUZZ_ONLY"
for h in "${harnesses[@]}"; do
  name=${h%_fuzz}
  corpus="$out/corpus/$name"
  committed="$root/fuzz/corpus/$name"
  extra=()
  [ -d "$committed" ] && extra+=("$committed")
  mkdir -p "$corpus"
  log="$out/$name.log"
  if ! "$out/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/$name-" \
      "$corpus" "$out/seeds/$name" "${extra[@]}" >"$log" 2>&1; then
    echo "fuzz: $h FAILED; log $log:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz: $h: ${runs:-?} executions in ${seconds}s, no crash"
  total=$((total + ${runs:-0}))
done
echo "fuzz: $total executions in all, no crash"
