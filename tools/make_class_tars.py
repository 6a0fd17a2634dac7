#!/usr/bin/env python3
"""Writes a tar of per-class tars shaped like ILSVRC2012_img_train.tar from a folder of JPEGs.

Each class tar n<8 digits>.tar holds PER_CLASS copies of the source JPEGs (cycled), named as
ImageNet names them (n01440764_<k>.JPEG). Used to measure the resident memory of reading a large
archive in place (docs/data-formats.md); the pictures themselves do not matter.

    tools/make_class_tars.py JPEG_FOLDER OUT.tar --classes 10 --per-class 430
"""
import argparse
import io
import os
import tarfile


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("jpegs", help="folder of .jpg files to cycle through")
    p.add_argument("out", help="the tar to write")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--per-class", type=int, default=100)
    a = p.parse_args()
    sources = sorted(os.path.join(a.jpegs, f) for f in os.listdir(a.jpegs) if f.lower().endswith((".jpg", ".jpeg")))
    if not sources:
        raise SystemExit(f"error: no .jpg files in {a.jpegs}")
    blobs = [open(s, "rb").read() for s in sources]
    with tarfile.open(a.out, "w", format=tarfile.USTAR_FORMAT) as outer:
        for c in range(a.classes):
            wnid = f"n{1440764 + c * 1000:08d}"
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as inner:
                for k in range(a.per_class):
                    data = blobs[(c * a.per_class + k) % len(blobs)]
                    info = tarfile.TarInfo(f"{wnid}_{k}.JPEG")
                    info.size = len(data)
                    inner.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo(f"{wnid}.tar")
            info.size = buf.tell()
            buf.seek(0)
            outer.addfile(info, buf)


if __name__ == "__main__":
    main()
