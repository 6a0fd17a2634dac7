#!/usr/bin/python3
"""Times torchvision's loader on the same data as `alexnet bench --loader-only`, with the transform of
one of our presets, batch 64, with 1 and 2 DataLoader workers:

  seed   PIL Resize(224) + ToTensor + Normalize (the seed article's)
  paper  Resize(256) + RandomCrop(224) + RandomHorizontalFlip + ToTensor + Normalize (the paper's,
         without its PCA lighting, which torchvision does not have)
  rrc    RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize (torchvision's
         reference recipe, our `standard` preset on large images)

The archive (a tar, optionally compressed) is read into memory first (tarfile), so only JPEG
decoding, the transforms and batching are timed, not gzip or the disk. Prints img/s per worker
count, and a JSON line at the end.

  python3 tools/bench_torchvision_loader.py /work/shared/data/cifar10-jpeg-train.tar.gz \
      [--images 6400] [--workers 1 2] [--batch-size 64] [--transform seed|paper|rrc]
"""
import argparse
import io
import json
import tarfile
import time

import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms


class MemoryJpegs(torch.utils.data.Dataset):
    def __init__(self, blobs, transform):
        self.blobs, self.transform = blobs, transform

    def __len__(self):
        return len(self.blobs)

    def __getitem__(self, i):
        data, label = self.blobs[i]
        return self.transform(Image.open(io.BytesIO(data)).convert("RGB")), label


def read_members(path, limit):
    blobs, classes = [], {}
    with tarfile.open(path, "r:*") as tar:
        for m in tar:
            if not m.isfile() or not m.name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            cls = m.name.rstrip("/").split("/")[-2]
            blobs.append((tar.extractfile(m).read(), classes.setdefault(cls, len(classes))))
            if len(blobs) >= limit:
                break
    return blobs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--images", type=int, default=6400, help="images timed per run (after one warm-up batch)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--transform", choices=["seed", "paper", "rrc"], default="seed")
    ap.add_argument("--passes", type=int, default=1, help="times through the images (small sets of large photos)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    blobs = read_members(args.data, args.images + args.batch_size)
    blobs = blobs * args.passes
    normalize = [transforms.ToTensor(), transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
    chosen = {
        "seed": [transforms.Resize(224)],
        "paper": [transforms.Resize(256), transforms.RandomCrop(224), transforms.RandomHorizontalFlip()],
        "rrc": [transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip()],
    }[args.transform]
    transform = transforms.Compose(chosen + normalize)
    results = {}
    for workers in args.workers:
        loader = torch.utils.data.DataLoader(MemoryJpegs(blobs, transform), batch_size=args.batch_size, shuffle=True,
                                             num_workers=workers, drop_last=True, persistent_workers=False)
        it = iter(loader)
        next(it)  # warm-up: workers started, first batch through
        start, n = time.perf_counter(), 0
        for images, _ in it:
            n += images.shape[0]
        seconds = time.perf_counter() - start
        results[workers] = n / seconds
        print(f"torchvision {args.transform} transform, {workers} worker(s), batch {args.batch_size}: "
              f"{n} images in {seconds:.2f} s = {n / seconds:.0f} img/s")
    print(json.dumps({"torchvision_img_s": {str(k): round(v, 1) for k, v in results.items()},
                      "torch": torch.__version__, "torchvision": torchvision.__version__,
                      "pillow": PIL.__version__, "transform": args.transform, "batch_size": args.batch_size}))


if __name__ == "__main__":
    main()
