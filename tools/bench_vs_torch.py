#!/usr/bin/python3
"""Speed of `alexnet bench` against the same work in PyTorch on this CPU, run interleaved.

    /usr/bin/python3 tools/bench_vs_torch.py [--alexnet build/src/alexnet] [--python /usr/bin/python3]
                                             [--model seed] [--rounds 3] [--steps 3] [--warmup 1]
                                             [--batch 64] [--precisions fp32,bf16] [--quick]

--python runs PyTorch's side with another interpreter: the PyTorch users install today is the PyPI
wheel (`python3 -m venv v && v/bin/pip install torch==2.15.0`; --python v/bin/python3). The default is
Debian's python3-torch (1.13), which CI has. Both versions, the CPU and oneDNN's ISA are printed.

Each round runs, for each precision: `alexnet bench --model seed --batch-size B --precision P
--threads 2 --steps N --warmup W --json` (training step, then inference), then the same two workloads
in PyTorch in a fresh process (this script with --torch-worker). Ours and PyTorch's runs alternate, so a
change in the machine's load hits both sides of a pair alike; each round's ratio ours/PyTorch compares
neighbouring runs, and the table reports the median over rounds.

PyTorch's side mirrors how docs' reference figures were taken, and `alexnet bench` itself:
  * training step: forward in training mode (dropout 0.5) + nn.CrossEntropyLoss + backward +
    torch.optim.SGD(momentum 0.9, weight_decay 5e-4) step; bf16 with torch.autocast('cpu',
    dtype=torch.bfloat16) around forward and loss, channels-last, fp32 master weights (as ours);
  * inference: forward in eval mode under torch.no_grad() (and the same autocast for bf16);
  * torch.set_num_threads(2), random input N(0, 1), random labels, the model (default seed) with 10 classes;
  * the median of N timed steps after W untimed ones (the CPU is synchronous: no sync is needed).
Images per second = batch / median step time. The default run takes about 6-9 minutes (PyTorch's fp32
training step at batch 64 is 13-17 s here), more on a loaded machine; --quick (2 rounds of 2 steps,
replacing --rounds and --steps) about 4.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NUM_CLASSES = 10


def torch_worker(args):
    """Times PyTorch's training step and inference; prints one JSON line like `alexnet bench --json`."""
    import torch
    from torch import nn
    sys.path.insert(0, HERE)
    import alexnet_torch as at

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B = args.batch
    net = at.make_net(args.model, num_classes=NUM_CLASSES)  # dropout 0.5, as `alexnet bench` trains
    x = torch.randn(B, 3, net.input_size, net.input_size)
    bf16 = args.precision == "bf16"
    if bf16:  # channels-last: the layout oneDNN's bf16 kernels want, as PyTorch's CPU guides recommend
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, NUM_CLASSES, (B,))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, weight_decay=5e-4)

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    def infer_step():
        with torch.no_grad(), autocast():
            net(x)

    def median_time(step):
        times = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            step()
            if i >= args.warmup:
                times.append(time.perf_counter() - t0)
        return statistics.median(times)

    out = {"model": args.model, "batch_size": B, "precision": args.precision, "threads": torch.get_num_threads(),
           "steps": args.steps, "torch": torch.__version__}
    net.train()
    t = median_time(train_step)
    out.update(train_step_ms=t * 1e3, train_img_s=B / t)
    net.eval()
    t = median_time(infer_step)
    out.update(infer_step_ms=t * 1e3, infer_img_s=B / t)
    print(json.dumps(out), flush=True)


def run_json(cmd):
    """Runs a command whose last output line is a JSON object; returns it (raises with the output on failure)."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        raise RuntimeError(f"failed (exit {r.returncode}): {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alexnet", help="the alexnet binary (default: $ALEXNET_BINARY or build/src/alexnet)")
    ap.add_argument("--python", default=sys.executable, help="the Python whose torch is compared (default: this one, "
                    "%(default)s); e.g. a venv's python with torch 2.15 from PyPI")
    ap.add_argument("--model", default="seed", choices=("seed", "paper", "torchvision", "cifar"),
                    help="network (default %(default)s)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default %(default)s)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per run, the median is taken (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps per run (default %(default)s)")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="threads of both programs (default %(default)s)")
    ap.add_argument("--precisions", default="fp32,bf16", help="comma-separated (default %(default)s)")
    ap.add_argument("--quick", action="store_true", help="2 rounds of 2 timed steps (about 4 minutes)")
    ap.add_argument("--json", metavar="PATH", help="also write every measurement here")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        torch_worker(args)
        return 0
    if args.quick:
        args.rounds, args.steps = 2, 2
    precisions = [p for p in args.precisions.split(",") if p]
    for p in precisions:
        if p not in ("fp32", "bf16"):
            ap.error(f"unknown precision '{p}' (expected fp32 or bf16)")

    binary = args.alexnet or os.environ.get("ALEXNET_BINARY") or os.path.join(REPO, "build", "src", "alexnet")
    if not os.access(binary, os.X_OK):
        sys.exit(f"error: no alexnet binary at '{binary}' (build it, or pass --alexnet PATH)")
    os.environ["ALEXNET_BINARY"] = os.path.abspath(binary)  # the PyTorch workers build the model from its table

    def ours_cmd(p):
        return [binary, "bench", "--model", args.model, "--num-classes", str(NUM_CLASSES), "--batch-size", str(args.batch),
                "--precision", p, "--threads", str(args.threads), "--steps", str(args.steps),
                "--warmup", str(args.warmup), "--json"]

    def torch_cmd(p):
        return [args.python, os.path.abspath(__file__), "--torch-worker", "--model", args.model, "--precision", p,
                "--batch", str(args.batch), "--threads", str(args.threads), "--steps", str(args.steps),
                "--warmup", str(args.warmup)]

    info = run_json([binary, "info", "--json"])
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    torch_version = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"], stdout=subprocess.PIPE,
                                   text=True).stdout.strip() or "?"
    print(f"CPU: {cpu}, {os.cpu_count()} logical cores; oneDNN {info['onednn']} runs it as {info['cpu_isa']}"
          f"{' (limited by ONEDNN_MAX_CPU_ISA)' if info.get('cpu_isa_limited') else ''}")
    print(f"PyTorch {torch_version} ({args.python}); alexnet {info['version']}")
    if "bf16" in precisions and not info.get("cpu_native_bf16", True):
        precisions = [p for p in precisions if p != "bf16"]
        print("bf16 is not compared: this CPU has no native bf16")
    print("Commands (each round runs them in this order, for each precision):")
    for p in precisions:
        print("  ours:    " + " ".join(shlex.quote(c) for c in ours_cmd(p)))
        print("  PyTorch: " + " ".join(shlex.quote(c) for c in torch_cmd(p)))
    try:
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    except OSError:
        pass
    print(flush=True)

    # results[(precision, mode)] = list of (ours img/s, torch img/s), one per round
    results = {(p, m): [] for p in precisions for m in ("train", "infer")}
    if not precisions:
        sys.exit("error: no precision left to compare")
    records = []
    t_start = time.time()
    for r in range(args.rounds):
        for p in precisions:
            ours = run_json(ours_cmd(p))
            theirs = run_json(torch_cmd(p))
            records.append({"round": r, "precision": p, "ours": ours, "torch": theirs})
            for m in ("train", "infer"):
                results[(p, m)].append((ours[f"{m}_img_s"], theirs[f"{m}_img_s"]))
            print(f"round {r + 1}/{args.rounds} {p}: ours train {ours['train_img_s']:.2f} img/s, infer "
                  f"{ours['infer_img_s']:.2f} img/s | PyTorch train {theirs['train_img_s']:.2f} img/s, infer "
                  f"{theirs['infer_img_s']:.2f} img/s ({time.time() - t_start:.0f} s)", flush=True)

    print(f"\n{args.model} model, PyTorch {torch_version}, {cpu} ({info['cpu_isa']}), batch {args.batch}, {args.threads} threads, {args.rounds} rounds x {args.steps} timed steps "
          f"(median of steps per run; medians over rounds; ratio = ours / PyTorch, per round, then the median)\n")
    print("| workload | ours img/s | PyTorch img/s | ratio per round | median ratio |")
    print("|---|---|---|---|---|")
    medians = []
    for (p, m), pairs in results.items():
        ratios = [o / t for o, t in pairs]
        medians.append(statistics.median(ratios))
        name = f"{p} {'training' if m == 'train' else 'inference'}"
        print(f"| {name} | {statistics.median(o for o, _ in pairs):.2f} | {statistics.median(t for _, t in pairs):.2f} | "
              f"{', '.join(f'{x:.2f}' for x in ratios)} | **{medians[-1]:.2f}x** |")
    print(f"\nmedian of the {len(medians)} median ratios: {statistics.median(medians):.2f}x")
    try:
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
              f"(a load above {args.threads} means other work shared the cores)")
    except OSError:
        pass
    print(f"total {time.time() - t_start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu, "cpu_isa": info["cpu_isa"], "torch": torch_version, "model": args.model,
                       "records": records}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
