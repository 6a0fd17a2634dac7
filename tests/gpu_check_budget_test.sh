#!/usr/bin/env bash
# scripts/gpu_check.sh on a fake bundle, without a GPU: fake test programs that pass, skip, fail, are
# missing or hang; a fake compute-sanitizer that is clean, refuses the device, finds errors or hangs;
# fake benchmarks that hang. Shows that
#   * a skipped, failed, missing or hung CUDA test fails the check (exit 1), and passing tests pass it;
#   * a sanitizer that refuses the device reads "memcheck not available here" and does not fail the
#     check, while memcheck errors do;
#   * when every step hangs until its time-out, the check still ends within its budget (run with every
#     time divided by 100: a 420 s budget in 4.2 s);
#   * what comes back ($OUT) is at most 8 files, in every case.
# Run: bash tests/gpu_check_budget_test.sh (CTest: GpuCheckOnAFakeBundle). About 10 s.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A fake repository: the real scripts/gpu_check.sh, a fake tools/bench_torch_gpu.py and .device/.
make_repo() {
  local r=$1
  mkdir -p "$r/scripts" "$r/tools" "$r/.device/bin/golden" "$r/.device/lib" "$r/fakebin"
  cp "$SRC/scripts/gpu_check.sh" "$r/scripts/"
  echo "commit fake" > "$r/.device/MANIFEST"
  # A fake gtest program: FAKE_<NAME>=pass|skip|fail|hang (default pass).
  for prog in cuda_test layers_test; do
    cat > "$r/.device/bin/$prog" <<EOF
#!/usr/bin/env bash
mode=\${FAKE_$(echo "$prog" | tr a-z A-Z):-pass}
xml=""
for a in "\$@"; do case "\$a" in --gtest_output=xml:*) xml=\${a#--gtest_output=xml:} ;; esac; done
[ "\$mode" = hang ] && exec sleep 1000
case "\$mode" in
  pass) body='<testcase name="A"/><testcase name="B"/>'; rc=0 ;;
  skip) body='<testcase name="A"><skipped message="no CUDA device visible"/></testcase><testcase name="B"/>'; rc=0 ;;
  fail) body='<testcase name="A"><failure message="logits differ"/></testcase><testcase name="B"/>'; rc=1 ;;
esac
[ -n "\$xml" ] && echo "<testsuites>\$body</testsuites>" > "\$xml"
exit \$rc
EOF
  done
  cat > "$r/.device/bin/alexnet" <<'EOF'
#!/usr/bin/env bash
case "$1" in
  --help) exit 0 ;;
  info) [ "${2:-}" = --model ] && { echo '{"layers": []}'; exit 0; }
        echo "    CUDA runtime 13.0, driver supports 13.0, cuDNN 9.10.0, cuBLAS 13.0.0"; echo "    GPU 0: Fake GPU"; exit 0 ;;
  bench) [ "${FAKE_BENCH:-fast}" = hang ] && exec sleep 1000
         echo '{"precision": "bf16", "batch_size": 256, "train_img_s": 1000.0}'; exit 0 ;;
esac
exit 1
EOF
  # A fake compute-sanitizer: FAKE_SANITIZER=clean|refuse|errors|hang. It runs the program after its options.
  cat > "$r/fakebin/compute-sanitizer" <<'EOF'
#!/usr/bin/env bash
while [ $# -gt 0 ]; do case "$1" in --tool|--error-exitcode|--target-processes) shift 2 ;; *) break ;; esac; done
case "${FAKE_SANITIZER:-clean}" in
  refuse) echo "========= Error: Device not supported"; exit 1 ;;
  hang) exec sleep 1000 ;;
  errors) "$@"; echo "========= Invalid __global__ read of size 4 bytes"; echo "========= ERROR SUMMARY: 2 errors"; exit 3 ;;
  clean) "$@"; rc=$?; echo "========= ERROR SUMMARY: 0 errors"; exit $rc ;;
esac
EOF
  cat > "$r/tools/bench_torch_gpu.py" <<'EOF'
import os, sys, time
if os.environ.get("FAKE_BENCH") == "hang":
    time.sleep(1000)
print('{"kind": "train", "precision": "bf16", "batch_size": 256, "input": "resident", "img_s": 900.0}')
EOF
  chmod +x "$r/.device/bin/"* "$r/fakebin/"*
}

# run NAME [VAR=value ...]: the check on a fresh fake repository with those variables; sets rc, log, out.
run() {
  local name=$1
  shift
  local r="$TMP/$name"
  make_repo "$r"
  out="$TMP/$name.out"
  mkdir -p "$out"
  [ "${REMOVE:-}" ] && rm -f "$r/.device/bin/$REMOVE"
  env OUT="$out" COMPUTE_SANITIZER="$r/fakebin/compute-sanitizer" GPU_CHECK_LIB_DIRS=/nonexistent \
    WORKLOADS="train:bf16:256 infer:fp32:256" PATH="$r/fakebin:$PATH" "$@" bash "$r/scripts/gpu_check.sh" > "$TMP/$name.stdout" 2>&1
  rc=$?
  log="$out/gpu_check.log"
  local files
  files=$(find "$out" -type f | wc -l)
  [ "$files" -le 8 ] || fail "$name: $files files under \$OUT (at most 8 may come back)"
  [ -s "$log" ] || fail "$name: no gpu_check.log under \$OUT"
  [ -s "$out/gpu_check_summary.txt" ] || fail "$name: no gpu_check_summary.txt under \$OUT"
}
expect_rc() { [ "$rc" -eq "$2" ] || { fail "$1: exit status $rc, expected $2"; tail -15 "$log"; }; }
expect_log() { grep -q -- "$2" "$log" || { fail "$1: the log does not say '$2'"; tail -15 "$log"; }; }

run pass
expect_rc pass 0
expect_log pass "cuda_test: 2 test cases, 0 skipped, 0 failures"
expect_log pass "memcheck: clean"
tar -tzf "$out/gpu_check_files.tar.gz" > "$TMP/packed.txt"
grep -q cuda_test.xml "$TMP/packed.txt" || fail "pass: cuda_test.xml not packed"

run skip FAKE_CUDA_TEST=skip
expect_rc skip 1
expect_log skip "1 of 2 cuda_test cases were skipped"

run fail FAKE_LAYERS_TEST=fail
expect_rc fail 1
expect_log fail "layers_test had failures: FAIL"

REMOVE=cuda_test run missing
expect_rc missing 1
expect_log missing "cuda_test: not in the bundle: FAIL"

run refuse FAKE_SANITIZER=refuse
expect_rc refuse 0
expect_log refuse "memcheck not available here"

run errors FAKE_SANITIZER=errors
expect_rc errors 1
expect_log errors "memcheck: 2 errors in layers_test: FAIL"

# Every step hangs: the tests, memcheck, our benchmarks and PyTorch's. Every time divided by 100.
start=$(date +%s%N)
# The default six workloads: the plan at its largest (408 of 420 s).
run hang FAKE_CUDA_TEST=hang FAKE_LAYERS_TEST=hang FAKE_SANITIZER=hang FAKE_BENCH=hang GPU_CHECK_TIME_DIVISOR=100 \
  WORKLOADS="train:bf16:256 train:bf16:64 train:fp32:128 train:tf32:128 infer:bf16:256 infer:fp32:256"
took_ms=$((($(date +%s%N) - start) / 1000000))
expect_rc hang 1
expect_log hang "cuda_test: timed out"
expect_log hang "layers_test: timed out"
expect_log hang "memcheck: not finished"
expect_log hang "train:tf32:128: failed or timed out"
expect_log hang "plan: .*: 408 s of a 420 s budget"
budget_ms=$((420 * 1000 / 100))
echo "hang: the whole check took $took_ms ms against a budget of $budget_ms ms ($(grep '^time:' "$out/gpu_check_summary.txt"))"
# The check's own clock: from its first line to its last, within the budget. The divisor shrinks the
# allowances but not the cost of starting and killing each step's processes (a few ms each, more on
# a loaded machine: 4,216 ms of 4,200 once, with other builds running), so 400 ms are allowed for
# them; a step that is not stopped at its time-out would take its 1,000 s instead.
used=$(sed -n 's/^time: \([0-9]*\)\.\([0-9]*\) s.*/\1\2/p' "$out/gpu_check_summary.txt")
[ -n "$used" ] && [ "$((10#$used))" -le $((budget_ms + 400)) ] || fail "hang: the check's clock says ${used:-nothing} ms, over $budget_ms + 400"
# From outside, with 1.4 s for starting bash and packing the files.
[ "$took_ms" -le $((budget_ms + 1400)) ] || fail "hang: took $took_ms ms, over the budget of $budget_ms ms + 1400"

# The plan itself: allowances over the budget are refused before anything runs.
run over BUDGET=300
expect_rc over 2
expect_log over "over BUDGET=300"

if [ "$failures" -gt 0 ]; then
  echo "gpu_check_budget_test: $failures failures"
  exit 1
fi
echo "gpu_check_budget_test: all cases as expected"
