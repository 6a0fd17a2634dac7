#!/usr/bin/python3
"""The C++ layer tables against the PyTorch modules written out from each variant's source.

    /usr/bin/python3 tools/check_tables.py [--alexnet build/src/alexnet]

For each variant and each set of options below, `alexnet info --model ... --json` must list the
layers of tools/alexnet_torch.py's module in the same order, with the same names, kinds,
hyper-parameters and output shapes, and the same parameter names and shapes. The modules are not
built from the table, so a wrong row in src/model/net_spec.cpp fails here instead of being copied into
the golden files. Prints one line per check and every difference; exits 1 if any differs (2 on a
usage error). Runs in a few seconds (run by ctest as TorchInterop.LayerTablesMatchTheModulesFromTheirSources).
"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import alexnet_torch as at  # noqa: E402
import make_golden  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (num_classes, width, hidden, input_size, dropout) for every variant: the published sizes, the
# interop checks' width (tools/torch_interop.py), and odd sizes that move every rounding. The golden
# files' reduced sizes (tools/make_golden.py's CONFIGS) are added per variant.
OPTIONS = [
    (1000, 1.0, 0, 0, 0.5),
    (10, 0.25, 0, 0, 0.5),
    (7, 0.75, 100, 160, 0.25),
]


def cases():
    out = [(variant, options) for variant in at.VARIANTS for options in OPTIONS]
    for variant, width, hidden, input_size, _, _ in make_golden.CONFIGS:
        out.append((variant, (make_golden.NUM_CLASSES, width, hidden, input_size, 0.0)))
    return out


# The initialisation each source uses: the paper's own (section 5), PyTorch's defaults otherwise.
INIT = {"seed": "pytorch", "paper": "paper", "torchvision": "pytorch", "cifar": "pytorch"}


def table(binary, variant, num_classes, width, hidden, input_size, dropout):
    cmd = [binary, "info", "--model", variant, "--num-classes", str(num_classes), "--width", repr(width),
           "--hidden", str(hidden), "--input-size", str(input_size), "--dropout", repr(dropout), "--json"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--alexnet", help="the alexnet binary (default: $ALEXNET_BINARY, else build/src/alexnet)")
    args = ap.parse_args()
    binary = args.alexnet or os.environ.get("ALEXNET_BINARY") or os.path.join(REPO, "build", "src", "alexnet")
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"error: no alexnet binary at '{binary}' (build it, or pass --alexnet PATH)", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    failed = checks = 0
    for variant, options in cases():
        checks += 1
        num_classes, width, hidden, input_size, dropout = options
        label = f"{variant} classes={num_classes} width={width} hidden={hidden} input={input_size} dropout={dropout}"
        try:
            t = table(binary, variant, *options)
            net = at.make_net(variant, num_classes=num_classes, width=width, hidden=hidden, input_size=input_size,
                              dropout=dropout)
            diffs = at.table_differences(net, t)
            if t.get("init") != INIT[variant]:
                diffs.append(f"init: table {t.get('init')!r}, source {INIT[variant]!r}")
        except (RuntimeError, ValueError) as e:
            diffs = [str(e)]
        if diffs:
            failed += 1
            print(f"FAIL {label}")
            for d in diffs:
                print(f"     {d}")
        else:
            print(f"ok   {label}: {len(t['layers'])} layers, {len(t['params'])} parameters")
    print(f"\n{checks - failed} of {checks} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
