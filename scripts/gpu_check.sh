#!/usr/bin/env bash
# The GPU check, one command for the GPU machine, from the repository root, with .device/ made by
# scripts/gpu_prepare.sh carried along:
#   0. prints the GPU, its driver, and the CUDA runtime, cuDNN and cuBLAS versions our programs load;
#   1. finds cuBLAS and cuDNN (CUDA toolkit, system, or PyTorch's wheels) and checks the programs load;
#   2. runs the CUDA tests (cuda_test: whole networks; layers_test: every layer kind) with a GPU
#      required: a test that fails or skips, a program missing from the bundle, or one that writes no
#      results fails the check; then compute-sanitizer's memcheck over tests that run only our own
#      kernels (no cuDNN algorithm search); a sanitizer that refuses the device gives "memcheck not
#      available here", not a failure;
#   3. times `alexnet bench --device cuda` on the seed model (10 classes, 224x224) for each workload,
#      one `--per-layer` pass (bf16, batch 256, device time of each layer) and PyTorch on the same
#      workloads (tools/bench_torch_gpu.py), in the same run;
#   4. prints one table of images per second and ratios.
# The plan below gives each step an allowance; they add up to at most BUDGET (420 s by default, so
# that a second run fits in the same 15 minutes), which is checked before anything runs. Each step
# runs under `timeout` with its allowance, capped by what is left of the budget less the table's
# share; a step that would get under MIN_STEP seconds is skipped and reported.
# Everything comes back in at most 4 files in $OUT (or out/gpu-check/): gpu_check.log (all that is
# printed), gpu_check_table.txt, gpu_check_summary.txt and gpu_check_files.tar.gz (every log, test
# result and JSON line). Our programs run with the bundled libraries on their library path; Python and
# PyTorch run with the machine's own.
# After a kernel fault: ALEXNET_CUDA_SYNC=1 bash scripts/gpu_check.sh names the faulting kernel.
# Exit status: 0 when every test ran and passed and memcheck found no error (or was not available);
# 1 when a test failed, skipped or did not run, or memcheck found an error; 2 when nothing could run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-$PWD/out/gpu-check}
mkdir -p "$OUTDIR"
rm -f "$OUTDIR"/gpu_check.log "$OUTDIR"/gpu_check_table.txt "$OUTDIR"/gpu_check_summary.txt \
  "$OUTDIR"/gpu_check_files.tar.gz
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")  # every file the steps write; packed at the end
exec > >(tee "$OUTDIR/gpu_check.log") 2>&1
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-5}
WORKLOADS=${WORKLOADS:-"train:bf16:256 train:bf16:64 train:fp32:128 train:tf32:128 infer:bf16:256 infer:fp32:256"}
BUDGET=${BUDGET:-420}
# Our own kernels without cuDNN's algorithm search: one-layer networks of max-pool, LRN, dropout, flatten
# and linear (bias, ReLU, loss, column sums, SGD; cuBLAS products), and the batch transform kernel.
MEMCHECK_TESTS=${MEMCHECK_TESTS:-"layers_test:*MaxPool2dLayer.OnTheInput/cuda_fp32:*MaxPool2dLayer.MatchesPyTorchWithPadding/cuda_fp32:*LrnLayer.MatchesPyTorchAtOddAndEvenSizes/cuda_fp32:*DropoutLayer.OnFeatures/cuda_fp32:*FlattenLayer.OfTheInput/cuda_fp32:*LinearLayer.AfterFlatten/cuda_fp32 cuda_test:CudaAugment.KernelEqualsTheCpuPipeline"}
# For tests/gpu_check_budget_test.sh only: every allowance and the budget divided by this, so that a fake
# bundle whose steps all hang shows in seconds that the budget holds.
DIVISOR=${GPU_CHECK_TIME_DIVISOR:-1}

# ---- the plan: each step's allowance in seconds
A_SETUP=15       # unpacking, libraries, versions, the load check
A_CUDA_TEST=90   # cuda_test
A_LAYERS_TEST=40 # layers_test's CUDA cases
A_MEMCHECK=35    # both memcheck runs together
A_BENCH=18       # each workload of ours
A_PER_LAYER=25   # alexnet bench --per-layer
A_NCCL=15
A_PLANNED=15
A_TORCH=60
A_TABLE=5        # the table and the packing, reserved from the start
MIN_STEP=5       # a step that would get less is skipped
KILL_GRACE=2     # timeout's SIGKILL after SIGTERM, inside each allowance
# ---- the clock, in milliseconds since the start
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
START_MS=$(now_ms)
elapsed_ms() { echo $(($(now_ms) - START_MS)); }
ms_of() { echo $(($1 * 1000 / DIVISOR)); }          # an allowance in seconds -> scaled milliseconds
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
# Milliseconds for the next step: its allowance, or what is left of the budget less the table's
# reserve if less; 0 when that is under MIN_STEP (the step is skipped).
step_ms() {
  local want left
  want=$(ms_of "$1")
  left=$(($(ms_of "$BUDGET") - $(ms_of "$A_TABLE") - $(elapsed_ms)))
  [ "$left" -lt "$want" ] && want=$left
  if [ "$want" -lt "$(ms_of "$MIN_STEP")" ]; then echo 0; else echo "$want"; fi
}
# Milliseconds for a call of the setup (steps 0 and 1): what is left of its allowance, at least
# MIN_STEP and 200 ms (an overrun only shortens the later steps, which are capped by the clock).
setup_ms() {
  local left=$(($(ms_of "$A_SETUP") - $(elapsed_ms))) floor=$(ms_of "$MIN_STEP")
  [ "$floor" -lt 200 ] && floor=200
  [ "$left" -lt "$floor" ] && left=$floor
  echo "$left"
}
# bounded MS CMD...: CMD under timeout, killed KILL_GRACE (scaled) after its allowance's end at the latest.
bounded() {
  local ms=$1 grace
  shift
  grace=$(ms_of "$KILL_GRACE")
  timeout -k "$(secs "$grace")" "$(secs $((ms - grace)))" "$@"
}

# ---- the end: the summary and everything packed into $OUTDIR (at most 4 files)
test_rc=0 memcheck_rc=0 memcheck_note="not run"
finish() {
  local rc=$?
  {
    echo "tests: $([ "$test_rc" -eq 0 ] && echo passed || echo FAILED)"
    echo "memcheck: $memcheck_note"
    echo "time: $(secs "$(elapsed_ms)") s of a $BUDGET s budget$([ "$DIVISOR" = 1 ] || echo " divided by $DIVISOR")"
    echo "exit status: $rc"
  } > "$OUTDIR/gpu_check_summary.txt"
  [ -f "$WORK/gpu_check_table.txt" ] && cp "$WORK/gpu_check_table.txt" "$OUTDIR/"
  tar -C "$WORK" --exclude='*.safetensors' -czf "$OUTDIR/gpu_check_files.tar.gz" . 2> /dev/null
  rm -rf "$WORK"
  exit "$rc"
}
trap finish EXIT

n_workloads=$(wc -w <<< "$WORKLOADS")
PLAN=$((A_SETUP + A_CUDA_TEST + A_LAYERS_TEST + A_MEMCHECK + n_workloads * A_BENCH + A_PER_LAYER + A_NCCL + A_PLANNED + A_TORCH + A_TABLE))
echo "== plan: $A_SETUP s setup, tests $A_CUDA_TEST + $A_LAYERS_TEST s, memcheck $A_MEMCHECK s, $n_workloads workloads x $A_BENCH s," \
  "per-layer $A_PER_LAYER s, NCCL $A_NCCL s, planned input $A_PLANNED s, PyTorch $A_TORCH s, table $A_TABLE s:" \
  "$PLAN s of a $BUDGET s budget$([ "$DIVISOR" = 1 ] || echo " (every time divided by $DIVISOR)")"
if [ "$PLAN" -gt "$BUDGET" ]; then
  echo "gpu_check: error: the steps' allowances add up to $PLAN s, over BUDGET=$BUDGET s (fewer WORKLOADS, or a larger BUDGET)"
  exit 2
fi

# ---- 0. the machine and the versions, first
echo "== machine"
(bounded "$(setup_ms)" nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader || echo "nvidia-smi: not available")

if [ ! -x .device/bin/alexnet ] && [ -f .device/bundle.tar.xz ]; then
  echo "== unpacking .device/bundle.tar.xz"
  bounded "$(setup_ms)" python3 -S -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    .device/bundle.tar.xz .device
fi
if [ ! -x .device/bin/alexnet ]; then
  echo "gpu_check: .device/bin/alexnet is missing: run scripts/gpu_prepare.sh on the build machine and carry .device" >&2
  exit 2
fi
echo "== build"; sed -n '1,3p' .device/MANIFEST 2> /dev/null
# The golden files (tests/golden/) travel in the bundle; the tests find them through this variable.
export ALEXNET_GOLDEN_DIR=${ALEXNET_GOLDEN_DIR:-$PWD/.device/bin/golden}
[ -d "$ALEXNET_GOLDEN_DIR" ] || echo "gpu_check: no golden files at $ALEXNET_GOLDEN_DIR: the *MatchesPyTorch* cases will fail"

# 1. libraries: the first directory that has each of cuDNN 9, cuBLAS 13 and NCCL 2.
#    GPU_CHECK_LIB_DIRS (colon-separated) replaces the search.
cuda_dirs=()
candidates=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
[ -n "${GPU_CHECK_LIB_DIRS:-}" ] && IFS=: read -r -a candidates <<< "$GPU_CHECK_LIB_DIRS"
[ -z "${GPU_CHECK_LIB_DIRS:-}" ] && while IFS= read -r d; do candidates+=("$d"); done < <(bounded "$(setup_ms)" python3 - <<'PY' 2>/dev/null
import glob, os
try:
    import nvidia
    for base in nvidia.__path__:
        for d in sorted(glob.glob(os.path.join(base, "*", "lib"))):
            print(d)
except Exception:
    pass
try:
    import torch
    print(os.path.join(os.path.dirname(torch.__file__), "lib"))
except Exception:
    pass
PY
)
for lib in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libnccl.so.2; do  # NCCL: opened by --nccl / multi-GPU runs
  for d in "${candidates[@]}"; do
    if [ -e "$d/$lib" ]; then cuda_dirs+=("$d"); break; fi
  done
done
LIBS=$PWD/.device/lib
for d in "${cuda_dirs[@]}"; do case ":$LIBS:" in *":$d:"*) ;; *) LIBS=$LIBS:$d ;; esac; done
# cuDNN's sub-libraries sit next to libcudnn.so.9 and are opened at run time: they need the same path.
# Only our programs get it (RUN): the bundled libstdc++, libgomp, libssl, libz ... must not be put in
# front of PyTorch's own.
OUR_PATH=$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}
echo "== libraries for our programs: $OUR_PATH"
RUN=(env "LD_LIBRARY_PATH=$OUR_PATH")
if ! bounded "$(setup_ms)" "${RUN[@]}" .device/bin/alexnet --help > /dev/null 2> "$WORK/load_error.txt"; then
  echo "gpu_check: the programs do not load directly:"; cat "$WORK/load_error.txt"
  echo "gpu_check: retrying with the build machine's C library (.device/glibc)"
  RUN=(.device/glibc/ld-linux-x86-64.so.2 --library-path "$PWD/.device/glibc:$OUR_PATH")
  if ! bounded "$(setup_ms)" "${RUN[@]}" .device/bin/alexnet --help > /dev/null; then
    ldd .device/bin/alexnet | grep "not found"
    echo "gpu_check: cannot run the programs here" >&2
    exit 2
  fi
fi
echo "== versions (alexnet info: the CUDA runtime, the driver's CUDA version, cuDNN and cuBLAS as loaded)"
bounded "$(setup_ms)" "${RUN[@]}" .device/bin/alexnet info 2>&1 | grep -E "CUDA|cuDNN|GPU" || echo "alexnet info: no CUDA lines"
[ "${ALEXNET_CUDA_SYNC:-0}" = 1 ] && echo "== ALEXNET_CUDA_SYNC=1: the device is synchronised after every kernel launch (slow; names a faulting kernel)"

# RECIPE=1: instead of the checks, the training recipe of docs/training.md for the seed model at 224 on
# one GPU (bf16), on the CIFAR-10 JPEGs carried in .device/data/ (gpu_prepare.sh copies them when
# ../shared/data has them): 10,000 held out as a test set, the rest trained on, the test set measured
# with flip TTA. Never run yet (no GPU at hand when it was written).
if [ "${RECIPE:-0}" = 1 ]; then
  data=.device/data/cifar10-jpeg-train.tar.gz
  [ -f "$data" ] || { echo "gpu_check: RECIPE=1 needs $data (gpu_prepare.sh copies it)" >&2; exit 2; }
  echo "== recipe: seed model at 224 on the GPU, bf16"
  start=$(elapsed_ms)
  bounded $(($(ms_of "$BUDGET") - $(ms_of 60))) "${RUN[@]}" .device/bin/alexnet train --device cuda --precision bf16 --model seed \
    --data "$data" --holdout 0.2 --val-split 0 --augment standard --epochs "${RECIPE_EPOCHS:-6}" --batch-size 256 \
    --lr 0.02 --schedule onecycle --nesterov --label-smoothing 0.2 --weight-decay 5e-4 --workers 14 \
    --print-freq 50 --no-report --out "$WORK/recipe"
  rc=$?
  echo "== recipe training: exit $rc after $(secs $(($(elapsed_ms) - start))) s"
  bounded "$(ms_of 50)" "${RUN[@]}" .device/bin/alexnet eval --device cuda --checkpoint "$WORK/recipe/last.safetensors" \
    --data "$data" --tta flip --batch-size 256 --workers 14
  exit $rc
fi

# Occurrences of $1 in file $2 (a test program's XML results).
count() { grep -o -- "$1" "$2" | wc -l; }

# ---- 2. tests, a GPU required: a test that fails, skips or does not run fails the check.
#    cuda_test: whole networks on the GPU; layers_test's cuda_* cases: every layer kind on the GPU.
for spec in "cuda_test:*-CudaNet.NoDeviceIsAnError:$A_CUDA_TEST" "layers_test:*cuda*:$A_LAYERS_TEST"; do
  IFS=: read -r prog filter want <<< "$spec"
  echo "== tests ($prog --gtest_filter=$filter)"
  xml="$WORK/$prog.xml"
  t=$(step_ms "$want")
  if [ ! -x ".device/bin/$prog" ]; then
    echo "$prog: not in the bundle: FAIL"; test_rc=1; continue
  fi
  if [ "$t" -eq 0 ]; then
    echo "$prog: no time left in the budget: FAIL"; test_rc=1; continue
  fi
  bounded "$t" "${RUN[@]}" ".device/bin/$prog" --gtest_brief=1 --gtest_filter="$filter" --gtest_output="xml:$xml"
  rc=$?
  echo "$prog exit status: $rc"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "$prog: timed out after $(secs "$t") s: FAIL"; test_rc=1
  elif [ "$rc" -ne 0 ]; then
    echo "$prog: FAIL"; test_rc=1
  fi
  if [ ! -s "$xml" ]; then
    echo "gpu_check: $prog wrote no results: FAIL"; test_rc=1; continue
  fi
  ran=$(count '<testcase ' "$xml")
  skipped=$(count '<skipped' "$xml")
  failed=$(count '<failure' "$xml")
  echo "$prog: $ran test cases, $skipped skipped, $failed failures"
  if [ "$ran" -eq 0 ] || [ "$skipped" -gt 0 ]; then
    echo "gpu_check: $skipped of $ran $prog cases were skipped; on the GPU machine a skip (or no test) is a failure: FAIL"
    grep -o '<skipped message="[^"]*"' "$xml" | sort | uniq -c | head -5
    test_rc=1
  fi
  [ "$failed" -gt 0 ] && { echo "gpu_check: $prog had failures: FAIL"; test_rc=1; }
done

# memcheck over our own kernels. Outcomes: errors found (fails the check); clean; or not available
# (the sanitizer is missing, refuses the device, or the tests see no device under it; said, not failed).
sanitizer=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2> /dev/null || true)}
if [ -z "$sanitizer" ]; then
  memcheck_note="not available here (no compute-sanitizer found)"
else
  memcheck_deadline=$(($(elapsed_ms) + $(step_ms "$A_MEMCHECK")))
  memcheck_note=clean
  runs=0
  for spec in $MEMCHECK_TESTS; do
    prog=${spec%%:*}
    filter=${spec#*:}
    runs=$((runs + 1))
    left=$((memcheck_deadline - $(elapsed_ms)))
    # the runs share the allowance: each gets what is left divided by the runs still to come
    todo=$(($(wc -w <<< "$MEMCHECK_TESTS") - runs + 1))
    t=$((left / todo))
    echo "== compute-sanitizer --tool memcheck on $prog --gtest_filter=$filter ($(secs "$((t > 0 ? t : 0))") s)"
    if [ "$t" -lt "$(ms_of "$MIN_STEP")" ]; then
      echo "memcheck: no time left in the budget"; memcheck_note="not finished (no time left)"; continue
    fi
    log="$WORK/memcheck_$prog.log" xml="$WORK/memcheck_$prog.xml"
    bounded "$t" "$sanitizer" --tool memcheck --error-exitcode 3 --target-processes all "${RUN[@]}" \
      ".device/bin/$prog" --gtest_brief=1 --gtest_filter="$filter" --gtest_output="xml:$xml" > "$log" 2>&1
    rc=$?
    tail -4 "$log"
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) error.*/\1/p' "$log" | tail -1)
    ran=0 skipped=0 failed=0
    if [ -s "$xml" ]; then
      ran=$(count '<testcase ' "$xml"); skipped=$(count '<skipped' "$xml"); failed=$(count '<failure' "$xml")
    fi
    if [ -n "$errors" ] && [ "$errors" -gt 0 ]; then
      echo "memcheck: $errors errors in $prog: FAIL"; memcheck_rc=1; memcheck_note="ERRORS found (see memcheck_$prog.log)"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "memcheck: $prog did not finish in $(secs "$t") s: no result"
      [ "$memcheck_rc" -eq 0 ] && memcheck_note="not finished (timed out)"
    elif [ "$ran" -eq 0 ] || [ "$skipped" -eq "$ran" ]; then
      echo "memcheck not available here: the sanitizer refused the device or the tests saw none (exit $rc)"
      [ "$memcheck_rc" -eq 0 ] && memcheck_note="not available here (exit $rc: $(grep -m1 -iE 'error|not supported' "$log" | cut -c1-120))"
    elif [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
      echo "memcheck: $prog failed under the sanitizer (exit $rc, $failed failures): FAIL"; memcheck_rc=1
      memcheck_note="tests FAILED under memcheck"
    else
      echo "memcheck: $prog clean ($ran cases)"
    fi
  done
fi
echo "== memcheck: $memcheck_note"

# ---- 3. benchmarks: ours, then PyTorch's
echo "== alexnet bench --device cuda (seed, 10 classes, $STEPS steps after $WARMUP)"
: > "$WORK/ours.jsonl"
for w in $WORKLOADS; do
  IFS=: read -r kind prec batch <<< "$w"
  only=--train-only
  [ "$kind" = infer ] && only=--infer-only
  t=$(step_ms "$A_BENCH")
  [ "$t" -eq 0 ] && { echo "$w: skipped, no time left in the budget"; continue; }
  line=$(bounded "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision "$prec" \
         --batch-size "$batch" --steps "$STEPS" --warmup "$WARMUP" "$only" --json 2> "$WORK/bench_${kind}_${prec}_${batch}.err" | grep '^{' | tail -1)
  if [ -z "$line" ]; then
    echo "$w: failed or timed out ($(secs "$t") s): $(tail -2 "$WORK/bench_${kind}_${prec}_${batch}.err")"
    line="{\"error\": \"failed\", \"batch_size\": $batch, \"precision\": \"$prec\"}"
  fi
  echo "{\"kind\": \"$kind\", \"result\": $line}" | tee -a "$WORK/ours.jsonl"
done
# Each layer's time at bf16, batch 256 (on CUDA: device time between CUDA events, without the copies).
t=$(step_ms "$A_PER_LAYER")
if [ "$t" -gt 0 ]; then
  echo "== alexnet bench --per-layer (seed, bf16, batch 256)"
  bounded "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision bf16 \
    --batch-size 256 --steps 10 --warmup 3 --per-layer --json 2> "$WORK/bench_per_layer.err" | tee "$WORK/per_layer.txt"
  [ -s "$WORK/per_layer.txt" ] || echo "per-layer bench failed: $(tail -2 "$WORK/bench_per_layer.err")"
else
  echo "== per-layer bench skipped: no time left in the budget"
fi
# The data-parallel NCCL path with one rank against no communication (issue bar: at most 3% slower).
t=$(step_ms "$A_NCCL")
if [ "$t" -gt 0 ]; then
  echo "== alexnet bench --nccl (one process: the NCCL average of the gradients every step)"
  bounded "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision bf16 \
    --batch-size 256 --steps "$STEPS" --warmup "$WARMUP" --train-only --nccl --json 2> "$WORK/bench_nccl.err" \
    | grep '^{' | tail -1 | tee "$WORK/nccl.jsonl"
  [ -s "$WORK/nccl.jsonl" ] || echo "nccl bench failed: $(tail -2 "$WORK/bench_nccl.err")"
fi
# The input as the trainer sends it on a GPU: uint8 source images (CIFAR's 32x32) with each sample's
# plan, transformed to 224 by the augment kernel (Net::forward_planned), against the fp32 upload.
t=$(step_ms "$A_PLANNED")
if [ "$t" -gt 0 ]; then
  echo "== alexnet bench --input planned (uint8 32x32 + the transform kernel)"
  bounded "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision bf16 \
    --batch-size 256 --steps "$STEPS" --warmup "$WARMUP" --train-only --input planned --source-size 32 --json \
    2> "$WORK/bench_planned.err" | grep '^{' | tail -1 | tee "$WORK/planned.jsonl"
  [ -s "$WORK/planned.jsonl" ] || echo "planned-input bench failed: $(tail -2 "$WORK/bench_planned.err")"
fi
t=$(step_ms "$A_TORCH")
if [ "$t" -gt 0 ]; then
  echo "== PyTorch (tools/bench_torch_gpu.py)"
  torch_workloads=$(echo "$WORKLOADS" | tr ' ' ',')
  # The PyTorch module is built from our layer table, printed here with our library path (inside the
  # step's allowance).
  bounded "$t" "${RUN[@]}" .device/bin/alexnet info --model seed --num-classes 10 --json | tail -1 > "$WORK/seed_table.json"
  t=$(step_ms "$A_TORCH")
  [ "$t" -gt 0 ] && bounded "$t" python3 tools/bench_torch_gpu.py --table "$WORK/seed_table.json" --steps "$STEPS" \
    --warmup "$WARMUP" --workloads "$torch_workloads" | tee "$WORK/torch.jsonl"
else
  echo "== PyTorch skipped: no time left in the budget"
fi

# ---- 4. the table: the reserved allowance, less what the steps before overran it by, less the kill
# grace, which is left for packing the files.
t=$(($(ms_of "$BUDGET") - $(elapsed_ms) - $(ms_of "$KILL_GRACE")))
[ "$t" -gt "$(ms_of "$A_TABLE")" ] && t=$(ms_of "$A_TABLE")
[ "$t" -le "$(ms_of "$KILL_GRACE")" ] && { echo "== no time left for the table"; t=0; }
[ "$t" -gt 0 ] && bounded "$t" python3 -S - "$WORK" <<'PY' | tee "$WORK/gpu_check_table.txt"
import json, sys, os
out = sys.argv[1]
goals = {("train", "bf16", 256): 45000, ("train", "bf16", 64): 30000, ("train", "fp32", 128): 1.2 * 8212,
         ("train", "tf32", 128): 1.2 * 14714, ("infer", "bf16", 256): 1.5 * 56473, ("infer", "fp32", 256): 1.5 * 40356}
ours, torch = {}, {}
def lines(name):
    try:
        with open(os.path.join(out, name)) as f:
            return [l for l in f if l.startswith("{")]
    except FileNotFoundError:
        return []
for line in lines("ours.jsonl"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    res = r["result"]
    key = (r["kind"], res.get("precision"), res.get("batch_size"))
    ours[key] = res.get(r["kind"] + "_img_s")
for line in lines("torch.jsonl"):
    try:
        r = json.loads(line)
        torch[(r["kind"], r["precision"], r["batch_size"], r["input"])] = r.get("img_s")
    except (ValueError, KeyError):
        pass
def f(v):
    return "-" if v is None else f"{v:,.0f}"
def ratio(a, b):
    return "-" if not a or not b else f"{a / b:.2f}x"
print("| workload | ours img/s | torch img/s (GPU-resident input) | torch img/s (host input each step) | ours/torch resident | ours/torch host | goal img/s |")
print("|---|---|---|---|---|---|---|")
for key in ours:
    k, p, b = key
    tr, tu = torch.get((k, p, b, "resident")), torch.get((k, p, b, "upload"))
    print(f"| {k} {p} batch {b} | {f(ours[key])} | {f(tr)} | {f(tu)} | {ratio(ours[key], tr)} | {ratio(ours[key], tu)} | {f(goals.get(key))} |")
print()
print("ours: `alexnet bench --device cuda` (input uploaded from host fp32 memory every step, as Net::forward takes it).")
def one(name):
    try:
        return json.loads(lines(name)[0])
    except (IndexError, ValueError):
        return {}
plain = ours.get(("train", "bf16", 256))
nccl = one("nccl.jsonl")
if plain and nccl.get("train_img_s"):
    print(f"NCCL, one rank, train bf16 batch 256: {nccl['train_img_s']:,.0f} img/s against {plain:,.0f} without: "
          f"{100 * (1 - nccl['train_img_s'] / plain):.1f}% slower (bar: 3%)")
else:
    print("NCCL, one rank: not measured")
planned = one("planned.jsonl")
if plain and planned.get("train_img_s"):
    print(f"planned input (uint8 32x32 + transform kernel), train bf16 batch 256: {planned['train_img_s']:,.0f} img/s "
          f"against {plain:,.0f} with the fp32 upload")
else:
    print("planned input: not measured")
PY

echo "== done in $(secs "$(elapsed_ms)") s (budget $BUDGET s / $DIVISOR): tests $([ "$test_rc" -eq 0 ] && echo passed || echo FAILED), memcheck $memcheck_note; files in $OUTDIR"
[ "$test_rc" -eq 0 ] && [ "$memcheck_rc" -eq 0 ]
