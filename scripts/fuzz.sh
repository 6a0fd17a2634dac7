#!/usr/bin/env bash
# Builds the libFuzzer harnesses in fuzz/ with clang (-fsanitize=fuzzer,address,undefined) and runs
# each for a bounded time from a generated seed corpus, printing how many inputs each executed.
# Exits non-zero when a harness finds a crash, a sanitizer report or a leak (the log is printed).
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS (default 20)] [BUILD_DIR (default build-fuzz)]
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

harnesses=(image_decode_fuzz cifar_fuzz image_folder_fuzz)
sources=(src/data/image_codec.cpp src/data/readers.cpp src/data/cifar.cpp src/data/image_folder.cpp
         src/data/tensor_dataset.cpp src/tensor/tensor.cpp src/tensor/safetensors.cpp src/core/atomic_file.cpp)
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cxxflags="-std=c++20 -O1 -g -I$root/src $sanitize"
libs="-ljpeg -lpng -larchive"

mkdir -p "$out/obj" "$out/seeds"
echo "fuzz: building with $cxx into $out"
objects=()
for s in "${sources[@]}"; do
  o="$out/obj/$(basename "${s%.cpp}").o"
  "$cxx" $cxxflags -fsanitize=fuzzer-no-link -c "$root/$s" -o "$o" &
  objects+=("$o")
done
wait
for h in "${harnesses[@]}"; do
  "$cxx" $cxxflags -fsanitize=fuzzer "$root/fuzz/$h.cpp" "${objects[@]}" $libs -o "$out/$h" &
done
"$cxx" $cxxflags -fsanitize=fuzzer-no-link "$root/fuzz/make_seeds.cpp" "${objects[@]}" $libs -o "$out/make_seeds"
wait
rm -rf "$out/seeds"
"$out/make_seeds" "$out/seeds"

total=0
for h in "${harnesses[@]}"; do
  name=${h%_fuzz}
  corpus="$out/corpus/$name"
  mkdir -p "$corpus"
  log="$out/$name.log"
  if ! "$out/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "$corpus" "$out/seeds/$name" >"$log" 2>&1; then
    echo "fuzz: $h FAILED; log $log:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz: $h: ${runs:-?} executions in ${seconds}s, no crash"
  total=$((total + ${runs:-0}))
done
echo "fuzz: $total executions in all, no crash"
