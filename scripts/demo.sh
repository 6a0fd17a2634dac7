#!/usr/bin/env bash
# The demo: builds alexnet, trains the `cifar` AlexNet on real CIFAR-10 on the CPU, and prints the
# held-out accuracy, the run directory and its report.
#
# Data: --data, else $ALEXNET_DATA, else ./data, else ../shared/data/cifar10-jpeg-train.tar.gz when it
# is there; without any of them it stops at once and says how to provide the data (or pass
# DEMO_DOWNLOAD=1 to fetch CIFAR-10 from its official site).
set -euo pipefail
cd "$(dirname "$0")/.."

data=${ALEXNET_DATA:-}
if [ -z "$data" ] && [ -e data ]; then data=data; fi
if [ -z "$data" ] && [ -e ../shared/data/cifar10-jpeg-train.tar.gz ]; then data=../shared/data/cifar10-jpeg-train.tar.gz; fi
download=()
if [ -z "$data" ]; then
  if [ "${DEMO_DOWNLOAD:-0}" = 1 ]; then
    download=(--download cifar10)
  else
    cat >&2 <<'MSG'
demo: no CIFAR-10 data found. Provide it in one of these ways, then run the demo again:
  ALEXNET_DATA=/path/to/cifar-10-binary.tar.gz bash scripts/demo.sh   # the official binary archive
  ALEXNET_DATA=/path/to/cifar10-jpeg-train.tar.gz bash scripts/demo.sh # an ImageFolder .tar.gz
  ln -s /path/to/cifar-10-batches-bin data && bash scripts/demo.sh     # an extracted folder as ./data
  DEMO_DOWNLOAD=1 bash scripts/demo.sh                                 # download it (needs the internet)
MSG
    exit 2
  fi
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)" --target alexnet

# The recipe (`--recipe cifar-fast`; docs/training.md, "The demo's recipe"): the cifar AlexNet with He initialisation, pad-and-crop + flip
# augmentation, one-cycle SGD with Nesterov momentum, label smoothing, weight decay, dropout 0.25, and
# flip test-time augmentation. 10,000 of the 50,000 images are held out as a test set (--holdout 0.2)
# that training never sees and the recipe was never tuned on; the demo reports its accuracy on them.
#
# --precision auto (the default): bf16 where the CPU has native bf16 (AVX-512 BF16, AMX) and a short
# probe measures it faster than fp32 (on an AMD EPYC fp32 is 3-5x slower for this model; on an Intel
# Xeon without AMX bf16 was 2x slower), else fp32. The number of epochs (at most 24) is what fits in about 9.5 minutes (570 s) of
# training here: a 20-step training benchmark gives the time per image, plus 0.1 ms per image for
# the loader, the loop and the checkpoints (measured on an idle 2-core machine: see docs/training.md).
budget=${DEMO_SECONDS:-570}
precision=$(build/src/alexnet info --json | tail -n 1 | python3 -c "import json,sys;print(json.load(sys.stdin)['auto_precision'])")
if [ -n "${DEMO_EPOCHS:-}" ]; then
  epochs=$DEMO_EPOCHS
  echo "demo: $epochs epochs in $precision (DEMO_EPOCHS)"
else
  bench_img_s=$(build/src/alexnet bench --model cifar --batch-size 64 --steps 20 --warmup 3 --train-only --json 2>/dev/null |
                tail -n 1 | python3 -c "import json,sys;print(json.load(sys.stdin)['train_img_s'])")
  read -r epochs minutes < <(python3 -c "
s = 40000 * (1 / $bench_img_s + 0.0001)  # seconds per epoch
e = max(1, min(24, int($budget // s)))
print(e, round(e * s / 60, 1))")
  echo "demo: $epochs epochs in $precision (a training step runs at $(printf %.0f "$bench_img_s") img/s here: about $minutes min; DEMO_EPOCHS=N overrides)"
fi
run=runs/demo-$(date +%Y%m%d-%H%M%S)
start=$SECONDS
build/src/alexnet train --recipe cifar-fast ${data:+--data "$data"} "${download[@]}" --epochs "$epochs" --out "$run"
trained=$((SECONDS - start))
build/src/alexnet eval --checkpoint "$run/last.safetensors" ${data:+--data "$data"} --tta flip --json | tail -n 1 > "$run/eval.json"
build/src/alexnet report "$run" > /dev/null  # the report again, now with the held-out results
echo
echo "held-out accuracy: $(python3 -c "import json;d=json.load(open('$run/eval.json'));print(f\"top-1 {d['top1']*100:.2f}%, top-5 {d['top5']*100:.2f}% on {d['n']} test images never trained or tuned on (flip TTA)\")")"
echo "time: training $trained s, evaluation $((SECONDS - start - trained)) s   run directory: $run   report: $run/report.html"
