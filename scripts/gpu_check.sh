#!/usr/bin/env bash
# The GPU check, one command for the GPU machine, from the repository root, with .device/ made by
# scripts/gpu_prepare.sh carried along:
#   1. finds cuBLAS and cuDNN (CUDA toolkit, system, or PyTorch's wheels) and checks the programs load;
#   2. runs the CUDA tests (cuda_test: the CUDA backend against the reference backend) with a GPU
#      required: a skipped test is a failure here; then a compute-sanitizer memcheck pass over a short
#      CUDA test (when compute-sanitizer is on the PATH or in /usr/local/cuda/bin);
#   3. times `alexnet bench --device cuda` on the seed model (10 classes, 224x224) for each workload below
#      and PyTorch on the same workloads (tools/bench_torch_gpu.py), in the same run;
#   4. prints one table of images per second and ratios, and writes it, the logs and the raw JSON lines
#      to $OUT (or out/gpu-check/).
# Every step has a timeout and together they fit in BUDGET seconds (default 540, under one 600-second
# command); a step that would start with too little time left is skipped and reported. Our programs run
# with the bundled libraries on their library path; Python and PyTorch run with the machine's own.
# Exit status: non-zero when the tests failed (or skipped), memcheck found errors, or nothing could run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-$PWD/out/gpu-check}
mkdir -p "$OUTDIR"
exec > >(tee "$OUTDIR/gpu_check.log") 2>&1
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-5}
WORKLOADS=${WORKLOADS:-"train:bf16:256 train:bf16:64 train:fp32:128 train:tf32:128 infer:bf16:256 infer:fp32:256"}
BUDGET=${BUDGET:-540}
MEMCHECK_FILTER=${MEMCHECK_FILTER:-'*MaxPool2dLayer*cuda_fp32:*LrnLayer*cuda_fp32'}
# Seconds for the next step: `want`, or what is left of the budget if less (0: skip the step).
step_time() {
  local want=$1 left=$((BUDGET - SECONDS))
  if [ "$left" -lt 10 ]; then echo 0; elif [ "$left" -lt "$want" ]; then echo "$left"; else echo "$want"; fi
}

if [ ! -x .device/bin/alexnet ] && [ -f .device/bundle.tar.xz ]; then
  echo "== unpacking .device/bundle.tar.xz"
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device/bundle.tar.xz .device
fi
if [ ! -x .device/bin/alexnet ] || [ ! -x .device/bin/cuda_test ] || [ ! -x .device/bin/layers_test ]; then
  echo "gpu_check: .device/bin/ is missing: run scripts/gpu_prepare.sh on the build machine and carry .device" >&2
  exit 2
fi
echo "== build"; cat .device/MANIFEST | sed -n '1,3p'
echo "== machine"; (nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true)

# 1. libraries: the first directory that has each of cuDNN 9, cuBLAS 13 and NCCL 2.
cuda_dirs=()
candidates=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
while IFS= read -r d; do candidates+=("$d"); done < <(python3 - <<'PY' 2>/dev/null
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
if ! "${RUN[@]}" .device/bin/alexnet --help > /dev/null 2> "$OUTDIR/load_error.txt"; then
  echo "gpu_check: the programs do not load directly:"; cat "$OUTDIR/load_error.txt"
  echo "gpu_check: retrying with the build machine's C library (.device/glibc)"
  RUN=(.device/glibc/ld-linux-x86-64.so.2 --library-path "$PWD/.device/glibc:$OUR_PATH")
  if ! "${RUN[@]}" .device/bin/alexnet --help > /dev/null; then
    ldd .device/bin/alexnet | grep "not found"
    echo "gpu_check: cannot run the programs here" >&2
    exit 2
  fi
fi

# RECIPE=1: instead of the checks, the training recipe of docs/training.md for the seed model at 224 on
# one GPU (bf16), on the CIFAR-10 JPEGs carried in .device/data/ (gpu_prepare.sh copies them when
# ../shared/data has them): 10,000 held out as a test set, the rest trained on, the test set measured
# with flip TTA. Never run yet (no GPU at hand when it was written).
if [ "${RECIPE:-0}" = 1 ]; then
  data=.device/data/cifar10-jpeg-train.tar.gz
  [ -f "$data" ] || { echo "gpu_check: RECIPE=1 needs $data (gpu_prepare.sh copies it)" >&2; exit 2; }
  echo "== recipe: seed model at 224 on the GPU, bf16"
  start=$SECONDS
  timeout $((BUDGET - 60)) "${RUN[@]}" .device/bin/alexnet train --device cuda --precision bf16 --model seed \
    --data "$data" --holdout 0.2 --val-split 0 --augment standard --epochs "${RECIPE_EPOCHS:-6}" --batch-size 256 \
    --lr 0.02 --schedule onecycle --nesterov --label-smoothing 0.2 --weight-decay 5e-4 --workers 14 \
    --print-freq 50 --no-report --out "$OUTDIR/recipe"
  rc=$?
  echo "== recipe training: exit $rc after $((SECONDS - start)) s"
  timeout 50 "${RUN[@]}" .device/bin/alexnet eval --device cuda --checkpoint "$OUTDIR/recipe/last.safetensors" \
    --data "$data" --tta flip --batch-size 256 --workers 14
  exit $rc
fi

# 2. tests, a GPU required: a test that skips (no device visible, a driver problem) fails the check.
#    cuda_test: whole networks on the GPU; layers_test's cuda_* cases: every layer kind on the GPU.
test_rc=0
for spec in "cuda_test:*-CudaNet.NoDeviceIsAnError:120" "layers_test:*cuda*:60"; do
  IFS=: read -r prog filter want <<< "$spec"
  echo "== tests ($prog --gtest_filter=$filter)"
  xml="$OUTDIR/$prog.xml"
  rm -f "$xml"
  t=$(step_time "$want")
  if [ ! -x ".device/bin/$prog" ]; then
    echo "$prog: not in the bundle: FAIL"; test_rc=1; continue
  fi
  if [ "$t" -eq 0 ]; then
    echo "$prog: no time left in the budget: FAIL"; test_rc=1; continue
  fi
  timeout "$t" "${RUN[@]}" ".device/bin/$prog" --gtest_brief=1 --gtest_filter="$filter" --gtest_output="xml:$xml"
  rc=$?
  echo "$prog exit status: $rc"
  [ "$rc" -ne 0 ] && test_rc=1
  if [ ! -s "$xml" ]; then
    echo "gpu_check: $prog wrote no results: FAIL"; test_rc=1; continue
  fi
  ran=$(grep -c '<testcase ' "$xml")
  skipped=$(grep -c '<skipped' "$xml")
  echo "$prog: $ran test cases, $skipped skipped"
  if [ "$ran" -eq 0 ] || [ "$skipped" -gt 0 ]; then
    echo "gpu_check: $skipped of $ran $prog cases were skipped; on the GPU machine a skip (or no test) is a failure:"
    grep -o '<skipped message="[^"]*"' "$xml" | sort | uniq -c | head -5
    test_rc=1
  fi
done
memcheck_rc=0
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
t=$(step_time 45)
if [ -n "$sanitizer" ] && [ "$t" -gt 0 ]; then
  echo "== compute-sanitizer --tool memcheck on layers_test --gtest_filter=$MEMCHECK_FILTER"
  timeout "$t" "$sanitizer" --tool memcheck --error-exitcode 1 --target-processes all "${RUN[@]}" \
    .device/bin/layers_test --gtest_brief=1 --gtest_filter="$MEMCHECK_FILTER" > "$OUTDIR/memcheck.log" 2>&1
  memcheck_rc=$?
  tail -5 "$OUTDIR/memcheck.log"
  echo "memcheck exit status: $memcheck_rc"
else
  echo "== memcheck not run (${sanitizer:-no compute-sanitizer found}; ${t}s left)"
fi

# 3. benchmarks: ours, then PyTorch's
echo "== alexnet bench --device cuda (seed, 10 classes, $STEPS steps after $WARMUP)"
: > "$OUTDIR/ours.jsonl"
for w in $WORKLOADS; do
  IFS=: read -r kind prec batch <<< "$w"
  only=--train-only
  [ "$kind" = infer ] && only=--infer-only
  t=$(step_time 30)
  [ "$t" -eq 0 ] && { echo "$w: skipped, no time left in the budget"; continue; }
  line=$(timeout "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision "$prec" \
         --batch-size "$batch" --steps "$STEPS" --warmup "$WARMUP" "$only" --json 2> "$OUTDIR/bench_${kind}_${prec}_${batch}.err" | grep '^{' | tail -1)
  if [ -z "$line" ]; then
    echo "$w: failed: $(tail -2 "$OUTDIR/bench_${kind}_${prec}_${batch}.err")"
    line="{\"error\": \"failed\", \"batch_size\": $batch, \"precision\": \"$prec\"}"
  fi
  echo "{\"kind\": \"$kind\", \"result\": $line}" | tee -a "$OUTDIR/ours.jsonl"
done
# The data-parallel NCCL path with one rank against no communication (issue bar: at most 3% slower).
t=$(step_time 30)
if [ "$t" -gt 0 ]; then
  echo "== alexnet bench --nccl (one process: the NCCL average of the gradients every step)"
  timeout "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision bf16 \
    --batch-size 256 --steps "$STEPS" --warmup "$WARMUP" --train-only --nccl --json 2> "$OUTDIR/bench_nccl.err" \
    | grep '^{' | tail -1 | tee "$OUTDIR/nccl.jsonl"
  [ -s "$OUTDIR/nccl.jsonl" ] || echo "nccl bench failed: $(tail -2 "$OUTDIR/bench_nccl.err")"
fi
# The input as the trainer sends it on a GPU: uint8 source images (CIFAR's 32x32) with each sample's
# plan, transformed to 224 by the augment kernel (Net::forward_planned), against the fp32 upload.
t=$(step_time 30)
if [ "$t" -gt 0 ]; then
  echo "== alexnet bench --input planned (uint8 32x32 + the transform kernel)"
  timeout "$t" "${RUN[@]}" .device/bin/alexnet bench --device cuda --model seed --num-classes 10 --precision bf16 \
    --batch-size 256 --steps "$STEPS" --warmup "$WARMUP" --train-only --input planned --source-size 32 --json \
    2> "$OUTDIR/bench_planned.err" | grep '^{' | tail -1 | tee "$OUTDIR/planned.jsonl"
  [ -s "$OUTDIR/planned.jsonl" ] || echo "planned-input bench failed: $(tail -2 "$OUTDIR/bench_planned.err")"
fi
echo "== PyTorch (tools/bench_torch_gpu.py)"
torch_workloads=$(echo "$WORKLOADS" | tr ' ' ',')
# The PyTorch module is built from our layer table, printed here with our library path.
"${RUN[@]}" .device/bin/alexnet info --model seed --num-classes 10 --json | tail -1 > "$OUTDIR/seed_table.json"
t=$(step_time 120)
[ "$t" -eq 0 ] && t=1
timeout "$t" python3 tools/bench_torch_gpu.py --table "$OUTDIR/seed_table.json" --steps "$STEPS" --warmup "$WARMUP" --workloads "$torch_workloads" \
  | tee "$OUTDIR/torch.jsonl"

# 4. the table
python3 - "$OUTDIR" <<'PY' | tee "$OUTDIR/gpu_check_table.txt"
import json, sys, os
out = sys.argv[1]
goals = {("train", "bf16", 256): 45000, ("train", "bf16", 64): 30000, ("train", "fp32", 128): 1.2 * 8212,
         ("train", "tf32", 128): 1.2 * 14714, ("infer", "bf16", 256): 1.5 * 56473, ("infer", "fp32", 256): 1.5 * 40356}
ours, torch = {}, {}
for line in open(os.path.join(out, "ours.jsonl")):
    r = json.loads(line)
    res = r["result"]
    key = (r["kind"], res.get("precision"), res.get("batch_size"))
    ours[key] = res.get(r["kind"] + "_img_s")
try:
    for line in open(os.path.join(out, "torch.jsonl")):
        if line.startswith("{"):
            r = json.loads(line)
            torch[(r["kind"], r["precision"], r["batch_size"], r["input"])] = r.get("img_s")
except FileNotFoundError:
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
try:
    nccl = json.loads(open(os.path.join(out, "nccl.jsonl")).read())
    plain = ours.get(("train", "bf16", 256))
    if plain and nccl.get("train_img_s"):
        print(f"NCCL, one rank, train bf16 batch 256: {nccl['train_img_s']:,.0f} img/s against {plain:,.0f} without: "
              f"{100 * (1 - nccl['train_img_s'] / plain):.1f}% slower (bar: 3%)")
except (FileNotFoundError, ValueError):
    print("NCCL, one rank: not measured")
try:
    planned = json.loads(open(os.path.join(out, "planned.jsonl")).read())
    plain = ours.get(("train", "bf16", 256))
    if plain and planned.get("train_img_s"):
        print(f"planned input (uint8 32x32 + transform kernel), train bf16 batch 256: {planned['train_img_s']:,.0f} img/s "
              f"against {plain:,.0f} with the fp32 upload")
except (FileNotFoundError, ValueError):
    print("planned input: not measured")
PY

echo "== done in ${SECONDS}s (budget ${BUDGET}s): tests exit $test_rc, memcheck exit $memcheck_rc; files in $OUTDIR"
[ "$test_rc" -eq 0 ] && [ "$memcheck_rc" -eq 0 ]
