#!/usr/bin/env python3
"""Runs an ONNX model written by `alexnet export` in ONNX Runtime and compares its logits with ours.

    python3 tools/check_onnx.py MODEL.onnx --input X.safetensors --expect Y.safetensors [--batch 1 --batch 7]

X holds tensor `input` (float [N, 3, S, S], what the model's `images` takes) and Y tensor `logits`
(float [N, classes], from `alexnet predict --input-tensor ... --output Y`). With several --expect files
(one per --batch, in the same order) each batch size is compared with ours at that batch size.
For every batch size B the first B images go through ONNX Runtime in one call and the relative error
||ort - ours|| / ||ours|| must be at most --rtol. Also checks the model with the `onnx` package's
checker when it is importable, and that the model's batch dimension is symbolic.

Prints one line per batch size and a last line of JSON; exit 0 when all pass, 1 when one fails,
77 when onnxruntime cannot be imported (the caller skips). Needs numpy and onnxruntime only.
"""
import argparse
import json
import struct
import sys

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:  # the caller turns this into a skip
    print(f"skip: cannot import onnxruntime/numpy with {sys.executable}: {e}")
    sys.exit(77)

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "U8": np.uint8, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--input", required=True)
    ap.add_argument("--expect", action="append", required=True)
    ap.add_argument("--batch", type=int, action="append")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    x = read_safetensors(args.input)["input"].astype(np.float32)
    batches = args.batch or [x.shape[0]]
    expects = [read_safetensors(p)["logits"] for p in args.expect]
    if len(expects) == 1:
        expects = expects * len(batches)
    if len(expects) != len(batches):
        sys.exit("check_onnx: give one --expect per --batch, or one for all")

    checker = "not run (onnx not importable)"
    try:
        import onnx
        onnx.checker.check_model(args.model, full_check=True)
        m = onnx.load(args.model, load_external_data=False)
        checker = f"onnx {onnx.__version__} checker passed, opset {m.opset_import[0].version}"
        dim0 = m.graph.input[0].type.tensor_type.shape.dim[0]
        if not dim0.dim_param:
            sys.exit(f"check_onnx: the batch dimension of {m.graph.input[0].name} is not symbolic")
    except ImportError:
        pass

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    names = ([i.name for i in sess.get_inputs()], [o.name for o in sess.get_outputs()])
    if names != (["images"], ["logits"]):
        sys.exit(f"check_onnx: inputs/outputs are {names}, expected (['images'], ['logits'])")

    results, ok = [], True
    for b, y in zip(batches, expects):
        got = sess.run(["logits"], {"images": x[:b]})[0].astype(np.float64)
        ref = y[:b].astype(np.float64)
        if got.shape != ref.shape:
            print(f"batch {b}: ONNX Runtime gives shape {got.shape}, ours {ref.shape}")
            ok = False
            continue
        rel = float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))
        max_abs = float(np.abs(got - ref).max())
        top1 = bool((got.argmax(1) == ref.argmax(1)).all())
        passed = rel <= args.rtol
        ok &= passed
        print(f"batch {b}: relative error {rel:.3e} (limit {args.rtol:g}), max abs {max_abs:.3e}, "
              f"same top-1: {top1} -> {'ok' if passed else 'FAIL'}")
        results.append({"batch": b, "rel": rel, "max_abs": max_abs, "same_top1": top1, "ok": passed})
    print(f"onnxruntime {ort.__version__}; {checker}")
    meta = dict(sess.get_modelmeta().custom_metadata_map)
    print(json.dumps({"ok": ok, "onnxruntime": ort.__version__, "checker": checker, "results": results,
                      "metadata": meta}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
