#!/usr/bin/python3
"""Writes tests/golden/resize.safetensors: PyTorch's bilinear resize of a few small uint8 images.

For each case NAME the file holds
  NAME.input   U8  [H, W, 3]   the source image (HWC RGB, as the loader decodes it)
  NAME.output  F32 [3, P, Q]   F.interpolate(x, size=(P, Q), mode='bilinear', align_corners=False,
                               antialias=False) of the image as float in 0..255 (not rounded)
The safetensors format is written by hand (the Python package is not installed): an 8-byte
little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, the raw bytes.

Run with Debian's PyTorch: /usr/bin/python3 tools/make_resize_golden.py
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

# (name, H, W, P, Q): upscaling cases, including the seed's 32 -> 224 and non-square ones.
CASES = [
    ("up32to224", 32, 32, 224, 224),
    ("up5x7to13x11", 5, 7, 13, 11),
    ("up3x4to16x9", 3, 4, 16, 9),
    ("same6x6", 6, 6, 6, 6),
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "resize.safetensors")
    gen = torch.Generator().manual_seed(20121203)
    tensors = {}
    for name, h, w, p, q in CASES:
        image = torch.randint(0, 256, (h, w, 3), generator=gen, dtype=torch.uint8)
        nchw = image.permute(2, 0, 1).unsqueeze(0).to(torch.float32)
        resized = F.interpolate(nchw, size=(p, q), mode="bilinear", align_corners=False, antialias=False)
        tensors[name + ".input"] = ("U8", [h, w, 3], image.contiguous().numpy().tobytes())
        tensors[name + ".output"] = ("F32", [3, p, q], resized[0].contiguous().numpy().astype("<f4").tobytes())

    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"producer": "tools/make_resize_golden.py", "torch": torch.__version__}
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)  # keep the data 8-byte aligned
    with open(out_path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for b in blobs:
            f.write(b)
    print(f"wrote {out_path}: {len(CASES)} cases, {offset} data bytes")


if __name__ == "__main__":
    main()
