#!/usr/bin/env python3
"""PyTorch's speed on the GPU for the workloads `alexnet bench --device cuda` measures.

    python3 tools/bench_torch_gpu.py [--steps 20] [--warmup 5] [--workloads train:bf16:256,infer:fp32:256,...]

Prints one JSON line per workload and input mode:
  {"framework": "torch", "kind": "train", "precision": "bf16", "batch_size": 256, "input": "resident",
   "step_ms": ..., "img_s": ...}

The model is tools/alexnet_torch.py's `seed` variant with 10 classes (dropout 0.5), as `alexnet bench`.
  * training step: forward in training mode + nn.CrossEntropyLoss + backward + torch.optim.SGD(momentum
    0.9, weight_decay 5e-4) step; inference: eval mode under torch.no_grad();
  * fp32: TF32 off in cuDNN and cuBLAS; tf32: on; bf16: torch.autocast('cuda', torch.bfloat16) around
    forward and loss, channels-last model and input, fp32 master weights;
  * cudnn.benchmark on; the median of --steps timed steps after --warmup untimed ones, with a device
    synchronisation before each clock reading.
Input modes: "resident" keeps one random batch on the GPU (how the reference figures were taken);
"upload" copies a host fp32 batch (pageable memory) to the GPU every step, which is what a Net's
forward(const float* host_input, ...) does, so it is the like-for-like comparison for `alexnet bench`.
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORKLOADS = "train:bf16:256,train:bf16:64,train:fp32:128,train:tf32:128,infer:bf16:256,infer:fp32:256"


def run(kind, precision, batch, mode, steps, warmup, table=None):
    import torch
    from torch import nn
    sys.path.insert(0, HERE)
    import alexnet_torch as at

    torch.backends.cudnn.benchmark = True
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    bf16 = precision == "bf16"
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    torch.manual_seed(0)
    dev = torch.device("cuda")
    net = at.make_net("seed", num_classes=10)
    if table is not None and at.table_differences(net, table):
        raise ValueError("the seed module differs from the C++ table: " + "; ".join(at.table_differences(net, table)))
    net = net.to(dev).to(memory_format=fmt)
    size = net.input_size
    host_x = torch.randn(batch, 3, size, size)  # pageable
    x = host_x.to(dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), device=dev)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def batch_input():
        if mode == "resident":
            return x
        return host_x.to(dev).contiguous(memory_format=fmt)

    def train_step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(net(batch_input()), y)
        loss.backward()
        opt.step()

    def infer_step():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            net(batch_input())

    if kind == "train":
        net.train()
        step = train_step
    else:
        net.eval()
        step = infer_step
    times = []
    for i in range(warmup + steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    return {"framework": "torch", "torch": torch.__version__, "kind": kind, "precision": precision,
            "batch_size": batch, "input": mode, "step_ms": t * 1e3, "img_s": batch / t}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--workloads", default=DEFAULT_WORKLOADS, help="kind:precision:batch, comma-separated")
    p.add_argument("--modes", default="resident,upload")
    p.add_argument("--table", help="the seed model's layer table, as `alexnet info --model seed --num-classes 10 "
                   "--json` prints it: the module is checked against it before timing")
    a = p.parse_args()
    table = None
    if a.table:
        with open(a.table) as f:
            table = json.loads(f.read().strip().splitlines()[-1])
    for w in a.workloads.split(","):
        kind, precision, batch = w.split(":")
        for mode in a.modes.split(","):
            try:
                print(json.dumps(run(kind, precision, int(batch), mode, a.steps, a.warmup, table)), flush=True)
            except Exception as e:  # one failed workload must not hide the others
                print(json.dumps({"framework": "torch", "kind": kind, "precision": precision,
                                  "batch_size": int(batch), "input": mode, "error": str(e)}), flush=True)


if __name__ == "__main__":
    main()
