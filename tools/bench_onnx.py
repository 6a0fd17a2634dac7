#!/usr/bin/env python3
"""Inference speed of `alexnet` against ONNX Runtime on the same CPU, same network, same run.

    /opt/alexnet-venv/bin/python3 tools/bench_onnx.py --alexnet build/src/alexnet [--rounds 3] [--batch 1 --batch 64]

Writes random weights for the network (safetensors, PyTorch names), exports them with
`alexnet export`, then for every batch size and round runs, interleaved:
  ours: `alexnet bench --infer-only --precision fp32 --device cpu --threads T --steps N --warmup W --json`
        (a fresh process; the median of N timed forward passes after W untimed ones)
  ONNX Runtime: an InferenceSession of the exported model (CPUExecutionProvider, intra-op threads T,
        graph optimisations on), W untimed runs then the median of N timed runs of the same batch.
Images/s = batch / median; the ratio per round compares neighbouring runs, so a change in the
machine's load hits both sides. Needs numpy and onnxruntime (not torch).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

# (out_channels, kernel, stride, padding, groups) of the five convolutions, and whether an adaptive
# pool precedes the classifier, as src/model/net_spec.cpp builds them at width 1.
VARIANTS = {
    "seed": ([(96, 11, 4, 2, 1), (256, 5, 1, 2, 1), (384, 3, 1, 1, 1), (384, 3, 1, 1, 1), (256, 3, 1, 1, 1)], 224, 4096),
    "paper": ([(96, 11, 4, 0, 1), (256, 5, 1, 2, 2), (384, 3, 1, 1, 1), (384, 3, 1, 1, 2), (256, 3, 1, 1, 2)], 227, 4096),
    "torchvision": ([(64, 11, 4, 2, 1), (192, 5, 1, 2, 1), (384, 3, 1, 1, 1), (256, 3, 1, 1, 1), (256, 3, 1, 1, 1)], 224, 4096),
    "cifar": ([(48, 5, 1, 2, 1), (128, 5, 1, 2, 1), (192, 3, 1, 1, 1), (192, 3, 1, 1, 1), (128, 3, 1, 1, 1)], 32, 512),
}
POOL_AFTER = {0, 1, 4}  # max-pool 3/2 after conv1, conv2, conv5


def state_dict_shapes(variant, classes):
    convs, size, hidden = VARIANTS[variant]
    shapes, c, hw, index = [], 3, size, 0
    for i, (k, r, s, p, g) in enumerate(convs):
        shapes += [(f"features.{index}.weight", (k, c // g, r, r)), (f"features.{index}.bias", (k,))]
        hw = (hw + 2 * p - r) // s + 1
        index += 2 + (variant == "paper" and i < 2)  # conv, relu (, lrn)
        if i in POOL_AFTER:
            hw = (hw - 3) // 2 + 1
            index += 1
        c = k
    if variant == "torchvision":
        hw = 6
    shapes += [("classifier.1.weight", (hidden, c * hw * hw)), ("classifier.1.bias", (hidden,)),
               ("classifier.4.weight", (hidden, hidden)), ("classifier.4.bias", (hidden,)),
               ("classifier.6.weight", (classes, hidden)), ("classifier.6.bias", (classes,))]
    return shapes, size


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors:
        data = np.ascontiguousarray(arr, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h)
        for b in blobs:
            f.write(b)


def ours(args, batch):
    cmd = [args.alexnet, "bench", "--model", args.model, "--num-classes", str(args.num_classes), "--batch-size",
           str(batch), "--precision", "fp32", "--device", "cpu", "--threads", str(args.threads), "--infer-only",
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return json.loads(out)["infer_img_s"]


def onnx_runtime(args, sess, x):
    for _ in range(args.warmup):
        sess.run(["logits"], {"images": x})
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        sess.run(["logits"], {"images": x})
        times.append(time.perf_counter() - t)
    return x.shape[0] / statistics.median(times)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alexnet", default="build/src/alexnet")
    ap.add_argument("--model", default="seed", choices=sorted(VARIANTS))
    ap.add_argument("--num-classes", type=int, default=1000)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    batches = args.batch or [1, 64]

    with tempfile.TemporaryDirectory() as tmp:
        shapes, size = state_dict_shapes(args.model, args.num_classes)
        rng = np.random.default_rng(0)
        write_safetensors(f"{tmp}/w.safetensors", [(n, rng.normal(0, 0.01, s).astype(np.float32)) for n, s in shapes])
        subprocess.run([args.alexnet, "export", "--weights", f"{tmp}/w.safetensors", "--model", args.model,
                        "--num-classes", str(args.num_classes), "--out", f"{tmp}/m.onnx"], check=True)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(f"{tmp}/m.onnx", so, providers=["CPUExecutionProvider"])
        print(f"{args.model}, {args.num_classes} classes, fp32, {args.threads} threads; onnxruntime {ort.__version__}; "
              f"{args.rounds} rounds x {args.steps} timed runs after {args.warmup} warm-up; load average before: "
              f"{os.getloadavg()[0]:.2f}")
        summary = []
        for b in batches:
            x = rng.normal(0, 1, (b, 3, size, size)).astype(np.float32)
            rows = []
            for r in range(args.rounds):
                a = ours(args, b)
                o = onnx_runtime(args, sess, x)
                rows.append((a, o))
                print(f"batch {b:3d} round {r + 1}: ours {a:8.2f} img/s, ONNX Runtime {o:8.2f} img/s, ratio {a / o:.2f}")
            med = {"batch": b, "ours_img_s": statistics.median(a for a, _ in rows),
                   "onnxruntime_img_s": statistics.median(o for _, o in rows),
                   "ratio_median": statistics.median(a / o for a, o in rows)}
            summary.append(med)
            print(f"batch {b:3d} median: ours {med['ours_img_s']:.2f} img/s, ONNX Runtime {med['onnxruntime_img_s']:.2f} "
                  f"img/s, ratio {med['ratio_median']:.2f}x")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(json.dumps({"model": args.model, "threads": args.threads, "onnxruntime": ort.__version__,
                          "results": summary}))
