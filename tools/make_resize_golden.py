#!/usr/bin/python3
"""Writes tests/golden/resize.safetensors: PyTorch's bilinear resize of uint8 images, up and down.

For each case NAME the file holds
  NAME.input   U8  [H, W, 3]   the source image (HWC RGB, as the loader decodes it)
  NAME.output  F32 [3, P, Q]   F.interpolate(x, size=(P, Q), mode='bilinear', align_corners=False,
                               antialias=False for up*/same*; True, computed in float64, for down*)
                               of the image as float in 0..255 (not rounded)
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

# (name, H, W, P, Q): upscaling cases, including the seed's 32 -> 224 and non-square ones, then
# downscaling at the sizes the presets use on photos larger than the input: the standard preset's
# random-resized crop (a 333 x 250 box to 224 x 224, shrunk 1.49 and 1.12 times), the paper preset's
# shorter side to 37 at input 32 (150 x 200 to 37 x 49, about 4 times) and odd small factors. The
# downscaling cases use antialias=True, the widened triangle filter the loader uses (without it
# PyTorch samples instead of averaging); for upscaling the two agree to float rounding.
CASES = [
    ("up32to224", 32, 32, 224, 224),
    ("up5x7to13x11", 5, 7, 13, 11),
    ("up3x4to16x9", 3, 4, 16, 9),
    ("same6x6", 6, 6, 6, 6),
    ("down333x250to224x224", 333, 250, 224, 224),
    ("down150x200to37x49", 150, 200, 37, 49),
    ("down7x9to3x4", 7, 9, 3, 4),
    ("down40x48to32x32", 40, 48, 32, 32),
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "resize.safetensors")
    gen = torch.Generator().manual_seed(20121203)
    tensors = {}
    for name, h, w, p, q in CASES:
        image = torch.randint(0, 256, (h, w, 3), generator=gen, dtype=torch.uint8)
        nchw = image.permute(2, 0, 1).unsqueeze(0).to(torch.float32)
        if name.startswith("down"):
            # In float64: PyTorch's float32 antialiased resize is itself up to 1.6e-5 of the pixel
            # range off (it rounds the filter's centres), more than the float path's error.
            resized = F.interpolate(nchw.double(), size=(p, q), mode="bilinear", align_corners=False,
                                    antialias=True).float()
        else:
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
