#!/usr/bin/env python3
"""Classify pictures with a model from `alexnet export --checkpoint`, preparing each one as the
model's metadata (the preprocess.* keys) says: the steps, and the probabilities, of `alexnet predict`.

    python3 onnx_predict.py model.onnx cat.jpg ship.png [--top 5] [--json]

Needs onnxruntime, numpy and Pillow."""
import argparse
import json

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps


def prepare(path, m):
    """The picture at `path` as the model's input: float32 [1, 3, S, S]."""
    image = Image.open(path)
    if image.format == "JPEG" and m["preprocess.resize"] == "shorter_side":
        # As `alexnet predict` decodes (unless --exact-decode): a JPEG at least twice the resize's
        # shorter side decoded at 1/2, 1/4 or 1/8 by the JPEG library's DCT scaling.
        n = int(m["preprocess.resize_size"])
        image.draft("RGB", (n, n))
    if m["preprocess.exif_orientation"] == "apply":
        image = ImageOps.exif_transpose(image)  # phone photos: turned upright
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)  # [H, W, 3] in 0..255
    if m["preprocess.channel_order"] == "BGR":
        rgb = rgb[:, :, ::-1]
    h, w, _ = rgb.shape
    s = int(m["preprocess.crop_size"])
    if m["preprocess.resize"] == "shorter_side":
        n = int(m["preprocess.resize_size"])
        h2, w2 = (n, n * w // h) if h <= w else (n * h // w, n)
        # PIL's BILINEAR is the same antialiased triangle filter; on float planes, so nothing is rounded.
        planes = [Image.fromarray(np.ascontiguousarray(rgb[:, :, c])) for c in range(3)]
        rgb = np.stack([np.asarray(p.resize((w2, h2), Image.Resampling.BILINEAR)) for p in planes], axis=2)
        top, left = round((h2 - s) / 2), round((w2 - s) / 2)  # round half to even, as the crop does
        rgb = rgb[top:top + s, left:left + s]
    elif (h, w) != (s, s):
        raise SystemExit(f"{path}: this model takes {s}x{s} pictures as they are; this one is {w}x{h}")
    mean = np.array(json.loads(m["preprocess.mean"]), dtype=np.float32)
    std = np.array(json.loads(m["preprocess.std"]), dtype=np.float32)
    x = (rgb * np.float32(m["preprocess.value_scale"]) - mean) / std
    return x.transpose(2, 0, 1)[np.newaxis].astype(np.float32)  # HWC -> NCHW


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per picture")
    args = parser.parse_args()
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    m = session.get_modelmeta().custom_metadata_map
    if "preprocess.resize" not in m:
        raise SystemExit(f"{args.model}: no preprocess.* metadata (export it from a checkpoint)")
    classes = json.loads(m["classes"])
    for path in args.images:
        logits = session.run(["logits"], {"images": prepare(path, m)})[0][0].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        top = np.argsort(-p, kind="stable")[:args.top]
        if args.json:
            print(json.dumps({"image": path, "top": [
                {"class": classes[i], "index": int(i), "probability": float(p[i])} for i in top]}))
        else:
            print(path)
            for i in top:
                print(f"  {100 * p[i]:6.2f}%  {classes[i]}")


if __name__ == "__main__":
    main()
