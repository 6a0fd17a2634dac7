#!/usr/bin/python3
"""Weights move both ways between PyTorch and the `alexnet` program, unchanged.

    /usr/bin/python3 tools/torch_interop.py [--alexnet build/src/alexnet] [--width 0.25] [--keep DIR]

(a) PyTorch -> alexnet: a state_dict written as safetensors loads in `alexnet predict` and gives
    PyTorch's logits. For seed, paper and cifar the module is tools/alexnet_torch.py's, at a reduced
    width; for torchvision it is torchvision.models.alexnet itself, at full size (its module is fixed),
    so torchvision's own weights are proven to load without renaming or reshaping.
(b) alexnet -> PyTorch: weights written by `alexnet train --save` load into the PyTorch module with
    load_state_dict(strict=True) (no missing, extra or misshapen tensor) and the module's logits equal
    those of `alexnet predict` on the same file. torchvision again at full size, into
    torchvision.models.alexnet.

Logits are compared by relative norm, ||ours - torch|| / ||torch||, with PyTorch computing in float64
from the same float32 weights and inputs; the limit is 6e-6, about 10x the worst measured (6.1e-7). Prints one row per check and exits 1 if
any check fails (2 on a usage error). The torchvision checks are skipped, with a message, when
torchvision is not installed.

Also the helpers tools/check_full_size.py uses: find_alexnet, run_alexnet, train_run_flags, rel_err.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import alexnet_torch as at  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGITS_TOL = 6e-6  # about 10x the worst measured: 6.1e-7 (paper, PyTorch -> alexnet, docs/pytorch.md)
SEED = 20250401


# ---- helpers shared with check_full_size.py -----------------------------------------------------

def find_alexnet(path):
    """The `alexnet` binary: `path` if given, else $ALEXNET_BINARY, else build/src/alexnet."""
    path = path or os.environ.get("ALEXNET_BINARY") or os.path.join(REPO, "build", "src", "alexnet")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        sys.exit(f"error: no alexnet binary at '{path}' (build it, or pass --alexnet PATH)")
    return path


def run_alexnet(binary, args, verbose=True):
    """Runs `binary args...`; prints the command, raises with its output on a non-zero exit."""
    cmd = [binary] + [str(a) for a in args]
    if verbose:
        print("  $ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"command failed with exit code {r.returncode}:\n  {' '.join(cmd)}\n{r.stdout}")
    return r.stdout, time.time() - t0


_TRAIN_HELP = {}


def train_run_flags(binary, run_dir):
    """Flags that make `alexnet train` train on exactly the given tensors: no validation hold-out, no
    evaluation, its run directory (checkpoints) `run_dir`. Only the flags this build has (it is asked once)."""
    if binary not in _TRAIN_HELP:
        _TRAIN_HELP[binary] = subprocess.run([binary, "train", "--help"], stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True).stdout
    text = _TRAIN_HELP[binary]
    flags = ["--augment", "none"]
    if "--val-split" in text:
        flags += ["--val-split", "0"]
    if "--eval-every" in text:
        flags += ["--eval-every", "0"]
    if "--out " in text:
        flags += ["--out", run_dir]
    return flags


def rel_err(actual, expected):
    """||actual - expected|| / ||expected||, in float64 (the plain norm of the difference if expected is 0)."""
    a = actual.detach().to(torch.float64).reshape(-1)
    e = expected.detach().to(torch.float64).reshape(-1)
    if a.shape != e.shape:
        raise ValueError(f"shape mismatch: {tuple(actual.shape)} vs {tuple(expected.shape)}")
    den = e.norm().item()
    num = (a - e).norm().item()
    return num / den if den > 0 else num


def float64_logits(net, x):
    """The module's evaluation-mode logits computed in float64 (a copy; `net` is left as it is)."""
    import copy
    net64 = copy.deepcopy(net).double().eval()
    with torch.no_grad():
        return net64(x.double())


# ---- the checks ---------------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.rows, self.failed = [], 0

    def add(self, direction, model, what, err, tol=LOGITS_TOL):
        ok = err <= tol
        self.failed += not ok
        self.rows.append((direction, model, what, err, tol, ok))
        print(f"  {direction:<16} {model:<12} {what:<34} rel err {err:.2e} (limit {tol:.0e}) {'ok' if ok else 'FAIL'}",
              flush=True)

    def print_table(self):
        print("\n| direction | model | check | relative error | limit | result |\n|---|---|---|---|---|---|")
        for direction, model, what, err, tol, ok in self.rows:
            print(f"| {direction} | {model} | {what} | {err:.2e} | {tol:.0e} | {'ok' if ok else 'FAIL'} |")


def predict(binary, tmp, model, num_classes, width, weights, x, extra=()):
    xin = os.path.join(tmp, "input.safetensors")
    out = os.path.join(tmp, "logits.safetensors")
    at.write_safetensors(xin, {"input": x})
    run_alexnet(binary, ["predict", "--model", model, "--num-classes", num_classes, "--width", width,
                         "--weights", weights, "--input-tensor", xin, "--output", out, "--threads", 2, "--precision", "fp32",
                         *extra])
    return at.read_safetensors(out)[0]["logits"]


def torch_to_alexnet(binary, tmp, report, model, net, width, num_classes, x, how):
    """(a): writes net.state_dict() as safetensors; `alexnet predict` must give the module's logits."""
    path = os.path.join(tmp, f"{model}-from-torch.safetensors")
    at.write_safetensors(path, net.state_dict())
    ours = predict(binary, tmp, model, num_classes, width, path, x)
    report.add("torch -> alexnet", model, f"predict logits ({how})", rel_err(ours, float64_logits(net, x)))


def alexnet_to_torch(binary, tmp, report, model, net, width, num_classes, x, how):
    """(b): trains a few steps with `alexnet train --save`, loads the file into `net` strictly and
    compares the module's logits with `alexnet predict` on the same file."""
    S = x.shape[-1]
    gen = torch.Generator().manual_seed(SEED + 1)
    data = os.path.join(tmp, "data.safetensors")
    at.write_safetensors(data, {"images": torch.randn(4, 3, S, S, generator=gen),
                                "labels": torch.randint(0, num_classes, (4,), generator=gen)})
    saved = os.path.join(tmp, f"{model}-from-alexnet.safetensors")
    run_alexnet(binary, ["train", "--model", model, "--num-classes", num_classes, "--width", width, "--data", data,
                         "--batch-size", 2, "--steps", 2, "--lr", 0.01, "--threads", 2, "--save", saved, "--precision", "fp32",
                         *train_run_flags(binary, os.path.join(tmp, f"{model}-run"))])
    tensors, _ = at.read_safetensors(saved)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(tensors, strict=True)  # raises on any missing, unexpected or misshapen tensor
    changed = any(not torch.equal(before[k], v) for k, v in net.state_dict().items())
    if not changed:
        raise RuntimeError(f"{model}: load_state_dict left every tensor as it was")
    ours = predict(binary, tmp, model, num_classes, width, saved, x)
    report.add("alexnet -> torch", model, f"load_state_dict(strict) + logits ({how})",
               rel_err(ours, float64_logits(net, x)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alexnet", help="the alexnet binary (default: $ALEXNET_BINARY or build/src/alexnet)")
    ap.add_argument("--width", type=float, default=0.25, help="channel width of seed, paper and cifar (default 0.25)")
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them (default: a temporary directory)")
    args = ap.parse_args()
    binary = find_alexnet(args.alexnet)
    torch.set_num_threads(2)
    try:
        import torchvision
    except ImportError:
        torchvision = None

    report = Report()
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="alexnet-interop-") as scratch:
        tmp = args.keep or scratch
        os.makedirs(tmp, exist_ok=True)
        C = args.num_classes
        for model in ("seed", "paper", "cifar"):
            torch.manual_seed(SEED)
            # Reduced width keeps it fast; dropout is irrelevant in evaluation mode.
            net = at.make_net(model, num_classes=C, width=args.width)
            S = net.input_size
            scale = 50.0 if model == "paper" else 1.0  # raw-pixel scale, where paper's LRN is not a plain scaling
            x = torch.randn(2, 3, S, S, generator=torch.Generator().manual_seed(SEED)) * scale
            print(f"{model} (width {args.width}, {C} classes, {S}x{S}):", flush=True)
            torch_to_alexnet(binary, tmp, report, model, net, args.width, C, x, f"width {args.width}")
            alexnet_to_torch(binary, tmp, report, model, net, args.width, C, x, f"width {args.width}")
        if torchvision is None:
            print("torchvision: SKIPPED, torchvision is not installed for this python "
                  "(Debian: apt install python3-torchvision)", flush=True)
        else:
            torch.manual_seed(SEED)
            net = torchvision.models.alexnet(num_classes=C)  # random weights, torchvision's own init
            x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(SEED))
            print(f"torchvision (torchvision.models.alexnet, full size, {C} classes):", flush=True)
            torch_to_alexnet(binary, tmp, report, "torchvision", net, 1.0, C, x, "torchvision module, full size")
            alexnet_to_torch(binary, tmp, report, "torchvision", net, 1.0, C, x, "torchvision module, full size")
    report.print_table()
    print(f"\n{len(report.rows) - report.failed} of {len(report.rows)} checks passed in {time.time() - t0:.0f} s")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
