#!/usr/bin/env python3
"""Writes an ImageFolder of photo-sized JPEGs, for loader benchmarks at ImageNet sizes.

No photographs ship with the project, so each picture is made from a CIFAR-10 JPEG of the shared
data: scaled up (bicubic) to a random size in [--min-size, --max-size] (width; height 3/4 of it,
or 4/3 for one in four: portrait), with Gaussian grain (sigma --grain) so that the JPEG carries
detail at every scale as a photo does, saved at --quality. The file sizes (bits per pixel) are
printed: compare them with real photos of that size (ImageNet's average 110 KB at ~400x350).

    /opt/alexnet-venv/bin/python tools/make_photo_jpegs.py ../shared/data/cifar10-jpeg-train.tar.gz OUT \
        --count 512 --min-size 500 --max-size 640 [--tar OUT.tar]
"""
import argparse
import io
import os
import random
import tarfile

import numpy as np
from PIL import Image


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cifar", help="cifar10-jpeg-train.tar.gz")
    p.add_argument("out", help="folder to write OUT/<class>/<k>.jpg")
    p.add_argument("--count", type=int, default=512)
    p.add_argument("--min-size", type=int, default=500)
    p.add_argument("--max-size", type=int, default=640)
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--grain", type=float, default=12.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tar", help="also write the folder as one uncompressed tar")
    a = p.parse_args()
    rng = random.Random(a.seed)
    nrng = np.random.default_rng(a.seed)
    made, total_bytes, total_pixels = 0, 0, 0
    with tarfile.open(a.cifar, "r:*") as tar:
        for m in tar:
            if made >= a.count:
                break
            if not m.isfile() or not m.name.lower().endswith(".jpg"):
                continue
            cls = m.name.split("/")[-2]
            src = Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB")
            w = rng.randint(a.min_size, a.max_size)
            h = w * 3 // 4
            if rng.random() < 0.25:
                w, h = h, w
            big = np.asarray(src.resize((w, h), Image.BICUBIC), dtype=np.float32)
            big += nrng.normal(0.0, a.grain, big.shape).astype(np.float32)
            img = Image.fromarray(np.clip(big, 0, 255).astype(np.uint8))
            os.makedirs(os.path.join(a.out, cls), exist_ok=True)
            path = os.path.join(a.out, cls, f"{made:05d}.jpg")
            img.save(path, quality=a.quality)
            total_bytes += os.path.getsize(path)
            total_pixels += w * h
            made += 1
    print(f"{made} JPEGs, {a.min_size}..{a.max_size} px wide, quality {a.quality}: "
          f"{total_bytes / made / 1024:.0f} KB each on average, {8 * total_bytes / total_pixels:.2f} bits per pixel")
    if a.tar:
        with tarfile.open(a.tar, "w", format=tarfile.USTAR_FORMAT) as t:
            t.add(a.out, arcname="photos")


if __name__ == "__main__":
    main()
