#!/usr/bin/env python3
"""Reads a run directory's TensorBoard event files with the `tensorboard` package and checks every
scalar against the run's metrics.jsonl, value by value.

    python3 tools/check_tensorboard.py RUN_DIR [--expect-image TAG ...] [--expect-hparams [--hparams-may-differ KEY ...]]

metrics.jsonl is read as the project's reader does (a record whose step, or epoch, is not after the
previous one replaces the earlier records from there on). The expected TensorBoard scalars are:
a step line's loss, lr, img_s, data_wait_s and compute_s as train/<name>, and train/data_wait_share
= data_wait_s / (data_wait_s + compute_s), at its step; an epoch line's numbers but "step" as
epoch/<name> at the epoch's "step". Nulls are expected to be absent. TensorBoard holds float32, so
each value must equal the JSON number rounded to float32 exactly, and the set of (tag, step) pairs
must be the same on both sides. --expect-hparams: the hparams plugin's settings must be config.json's
(but for the keys named by --hparams-may-differ: a resumed run may change those).

Prints one line per tag and a last line "ok: ..."; exit 0 when everything matches, 1 when something
does not, 77 when tensorboard cannot be imported (the caller skips).
"""
import argparse
import json
import math
import os
import struct
import sys

try:
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.plugins.hparams import plugin_data_pb2
except ImportError as e:  # the caller turns this into a skip
    print(f"skip: cannot import tensorboard with {sys.executable}: {e}")
    sys.exit(77)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def finite_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def expected_scalars(path):
    steps, epochs = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            if obj.get("kind") == "step" and finite_number(obj.get("step")):
                while steps and steps[-1]["step"] >= obj["step"]:
                    steps.pop()
                steps.append(obj)
            elif obj.get("kind") == "epoch" and finite_number(obj.get("epoch")):
                while epochs and epochs[-1]["epoch"] >= obj["epoch"]:
                    epochs.pop()
                epochs.append(obj)
    want = {}  # tag -> {step: value}

    def put(tag, step, value):
        if finite_number(value):
            want.setdefault(tag, {})[int(step)] = f32(value)

    for s in steps:
        for key in ("loss", "lr", "img_s", "data_wait_s", "compute_s"):
            put("train/" + key, s["step"], s.get(key))
        w, c = s.get("data_wait_s"), s.get("compute_s")
        if finite_number(w) and finite_number(c) and w + c > 0:
            put("train/data_wait_share", s["step"], w / (w + c))
    for e in epochs:
        if not finite_number(e.get("step")):
            raise SystemExit(f"fail: epoch {e['epoch']} of {path} has no step")
        for key, value in e.items():
            if key not in ("kind", "epoch", "step"):
                put("epoch/" + key, e["step"], value)
    return want, len(steps), len(epochs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--expect-image", action="append", default=[])
    ap.add_argument("--expect-hparams", action="store_true")
    ap.add_argument("--hparams-may-differ", action="append", default=[])
    a = ap.parse_args()

    if not any(n.startswith("events.out.tfevents.") for n in os.listdir(a.run_dir)):
        print(f"fail: no events.out.tfevents.* file in {a.run_dir}")
        return 1
    want, n_steps, n_epochs = expected_scalars(os.path.join(a.run_dir, "metrics.jsonl"))
    acc = ea.EventAccumulator(a.run_dir, size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    tags = acc.Tags()
    got = {}
    for tag in tags["scalars"]:
        got[tag] = {}
        for ev in acc.Scalars(tag):
            if ev.step in got[tag]:
                print(f"fail: {tag}: step {ev.step} appears twice")
                return 1
            got[tag][ev.step] = ev.value

    bad = 0
    for tag in sorted(set(want) | set(got)):
        w, g = want.get(tag, {}), got.get(tag, {})
        if set(w) != set(g):
            print(f"fail: {tag}: steps in metrics.jsonl only {sorted(set(w) - set(g))[:10]}, "
                  f"in TensorBoard only {sorted(set(g) - set(w))[:10]}")
            bad += 1
            continue
        diff = [(s, w[s], g[s]) for s in sorted(w) if w[s] != g[s]]
        if diff:
            print(f"fail: {tag}: {len(diff)} values differ, first at step {diff[0][0]}: "
                  f"metrics.jsonl {diff[0][1]!r}, TensorBoard {diff[0][2]!r}")
            bad += 1
            continue
        print(f"{tag}: {len(w)} values equal")
    if not want:
        print("fail: metrics.jsonl has no numbers to compare")
        bad += 1

    for tag in a.expect_image:
        if tag not in tags["images"]:
            print(f"fail: no image {tag} (images: {tags['images']})")
            bad += 1
        else:
            im = acc.Images(tag)[-1]
            if not im.encoded_image_string.startswith(b"\x89PNG\r\n\x1a\n") or im.width <= 0 or im.height <= 0:
                print(f"fail: image {tag} is not a PNG with a size")
                bad += 1
            else:
                print(f"{tag}: {len(acc.Images(tag))} PNG image(s), last {im.width}x{im.height} at step {im.step}")
    if a.expect_hparams:
        content = acc.PluginTagToContent("hparams").get("_hparams_/session_start_info")
        data = plugin_data_pb2.HParamsPluginData.FromString(content) if content else None
        if not data or not data.HasField("session_start_info") or not data.session_start_info.hparams:
            print("fail: no hparams session_start_info")
            bad += 1
        else:
            hp = data.session_start_info.hparams
            print(f"hparams: {len(hp)} settings")
            with open(os.path.join(a.run_dir, "config.json")) as f:
                config = json.load(f)
            for key, value in config.items():
                if key in a.hparams_may_differ:
                    continue
                v = hp.get(key)
                kind = v.WhichOneof("kind") if v is not None else None
                if isinstance(value, bool):
                    ok = kind == "bool_value" and v.bool_value == value
                elif finite_number(value):
                    ok = kind == "number_value" and v.number_value == value
                elif isinstance(value, str):
                    ok = kind == "string_value" and v.string_value == value
                else:
                    ok = kind == "string_value"
                if not ok:
                    print(f"fail: hparams {key}: {v} for config.json's {value!r}")
                    bad += 1
    if bad:
        return 1
    print(f"ok: {sum(len(v) for v in want.values())} scalars in {len(want)} tags equal metrics.jsonl "
          f"({n_steps} step and {n_epochs} epoch records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
