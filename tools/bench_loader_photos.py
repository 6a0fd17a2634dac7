#!/usr/bin/env python3
"""Our loader against torchvision + Pillow on the same JPEGs, one thread each, side by side.

For each archive and transform, R rounds alternate `alexnet bench --loader-only --threads 1` and
tools/bench_torchvision_loader.py with one DataLoader worker; prints each round, the medians and
their ratio. Transforms: paper (shorter side 256, random 224 crop, flip; ours adds PCA lighting)
and rrc (random-resized crop 224 + flip: our `standard` preset on large images).

    /opt/torch215/bin/python tools/bench_loader_photos.py build/src/alexnet photos640.tar photos4000.tar \
        [--rounds 3] [--transforms paper rrc] [--exact-decode]

Make the archives with tools/make_photo_jpegs.py. torchvision reads each archive into memory first,
so neither side times the disk.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def count_images(path):
    with tarfile.open(path) as t:
        return sum(1 for m in t if m.isfile() and m.name.lower().endswith((".jpg", ".jpeg", ".png")))


def ours(binary, data, transform, batch, exact):
    cmd = [binary, "bench", "--loader-only", "--data", data, "--threads", "1", "--batch-size", str(batch),
           "--augment", "paper" if transform == "paper" else "standard", "--json"]
    if exact:
        cmd.append("--exact-decode")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["loader_img_s"]


def theirs(data, transform, batch, images):
    cmd = [sys.executable, os.path.join(HERE, "bench_torchvision_loader.py"), data, "--workers", "1",
           "--transform", transform, "--batch-size", str(batch), "--images", str(images)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["torchvision_img_s"]["1"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("binary")
    p.add_argument("archives", nargs="+")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--transforms", nargs="+", default=["paper", "rrc"])
    p.add_argument("--exact-decode", action="store_true")
    a = p.parse_args()
    import PIL
    import torchvision
    print(f"torchvision {torchvision.__version__}, Pillow {PIL.__version__}; ours {'exact' if a.exact_decode else 'scaled'} decode")
    for data in a.archives:
        n = count_images(data)
        batch = 64 if n >= 256 else 8
        for transform in a.transforms:
            mine, tv = [], []
            for r in range(a.rounds):
                mine.append(ours(a.binary, data, transform, batch, a.exact_decode))
                tv.append(theirs(data, transform, batch, n - batch))
                print(f"  {os.path.basename(data)} {transform} round {r + 1}: ours {mine[-1]:.1f} img/s, torchvision {tv[-1]:.1f} img/s")
            m, t = statistics.median(mine), statistics.median(tv)
            print(json.dumps({"data": os.path.basename(data), "images": n, "transform": transform, "ours_img_s": round(m, 1),
                              "torchvision_img_s": round(t, 1), "ratio": round(m / t, 2)}))


if __name__ == "__main__":
    main()
