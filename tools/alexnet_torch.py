"""The four AlexNet variants as PyTorch modules, and a small safetensors reader/writer.

The tables match src/model/net_spec.cpp layer for layer, so parameter names (the module paths,
"features.0.weight", "classifier.1.bias", ...) are the C++ ParamTable's names and state_dict
order is the C++ buffer order. Used by tools/make_golden.py and by any script that compares with
or converts weights for the C++ program.

    import alexnet_torch as at
    net = at.make_net("paper", num_classes=10, width=0.125, hidden=64, input_size=99, dropout=0.0)
    for name, module in net.layers():   # every layer in execution order, as the C++ table lists it
        ...
    at.write_safetensors(path, {"x": tensor}, {"key": "value"})
    tensors, metadata = at.read_safetensors(path)

Needs only torch (and numpy, which torch uses for byte conversion). Run with /usr/bin/python3.
"""
import json
import math
import os
import struct

import torch
from torch import nn

VARIANTS = ("seed", "paper", "torchvision", "cifar")

# One row per convolution: (out_channels, kernel, stride, padding, groups, lrn_after, pool_after).
# The same rows as make_net_spec in src/model/net_spec.cpp.
_CONVS = {
    "seed": [(96, 11, 4, 2, 1, False, True),
             (256, 5, 1, 2, 1, False, True),
             (384, 3, 1, 1, 1, False, False),
             (384, 3, 1, 1, 1, False, False),
             (256, 3, 1, 1, 1, False, True)],
    "paper": [(96, 11, 4, 0, 1, True, True),
              (256, 5, 1, 2, 2, True, True),
              (384, 3, 1, 1, 1, False, False),
              (384, 3, 1, 1, 2, False, False),
              (256, 3, 1, 1, 2, False, True)],
    "torchvision": [(64, 11, 4, 2, 1, False, True),
                    (192, 5, 1, 2, 1, False, True),
                    (384, 3, 1, 1, 1, False, False),
                    (256, 3, 1, 1, 1, False, False),
                    (256, 3, 1, 1, 1, False, True)],
    "cifar": [(48, 5, 1, 2, 1, False, True),
              (128, 5, 1, 2, 1, False, True),
              (192, 3, 1, 1, 1, False, False),
              (192, 3, 1, 1, 1, False, False),
              (128, 3, 1, 1, 1, False, True)],
}
DEFAULT_HIDDEN = {"seed": 4096, "paper": 4096, "torchvision": 4096, "cifar": 512}
DEFAULT_INPUT = {"seed": 224, "paper": 227, "torchvision": 224, "cifar": 32}


def scaled(channels, width, multiple=1):
    """A channel count times `width`, rounded half away from zero to a positive multiple of `multiple`
    (C++ std::lround; Python's round() would round half to even)."""
    c = int(math.floor(channels * width / multiple + 0.5)) * multiple
    return max(c, multiple)


def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


class AlexNet(nn.Module):
    """features -> [avgpool] -> flatten -> classifier, with PyTorch's module paths as names."""

    def __init__(self, variant, num_classes=1000, width=1.0, hidden=0, input_size=0, dropout=0.5):
        super().__init__()
        if variant not in _CONVS:
            raise ValueError(f"unknown variant '{variant}' (expected one of {', '.join(VARIANTS)})")
        self.variant = variant
        self.input_size = input_size or DEFAULT_INPUT[variant]
        hidden = hidden or scaled(DEFAULT_HIDDEN[variant], width)
        layers = []
        c, hw = 3, self.input_size
        for out, kernel, stride, padding, groups, lrn_after, pool_after in _CONVS[variant]:
            k = scaled(out, width, groups)
            if c % groups:
                raise ValueError(f"width {width} gives {c} channels, not divisible by {groups} groups")
            layers += [nn.Conv2d(c, k, kernel, stride=stride, padding=padding, groups=groups), nn.ReLU(inplace=False)]
            hw = _out_size(hw, kernel, stride, padding)
            if lrn_after:
                layers.append(nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0))
            if pool_after:
                layers.append(nn.MaxPool2d(3, 2))
                hw = _out_size(hw, 3, 2, 0)
            if hw < 1:
                raise ValueError(f"input size {self.input_size} is too small for the '{variant}' network")
            c = k
        self.features = nn.Sequential(*layers)
        if variant == "torchvision":
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            hw = 6
        else:
            self.avgpool = None
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c * hw * hw, hidden), nn.ReLU(inplace=False),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=False),
            nn.Linear(hidden, num_classes))

    def layers(self):
        """(name, callable) for every layer in execution order; names match the C++ Layer::name."""
        out = [(f"features.{i}", m) for i, m in enumerate(self.features)]
        if self.avgpool is not None:
            out.append(("avgpool", self.avgpool))
        out.append(("flatten", lambda x: torch.flatten(x, 1)))
        out += [(f"classifier.{i}", m) for i, m in enumerate(self.classifier)]
        return out

    def forward(self, x):
        for _, layer in self.layers():
            x = layer(x)
        return x


def make_net(variant, num_classes=1000, width=1.0, hidden=0, input_size=0, dropout=0.5):
    return AlexNet(variant, num_classes=num_classes, width=width, hidden=hidden, input_size=input_size,
                   dropout=dropout)


# ---- safetensors ---------------------------------------------------------------------------------
# An 8-byte little-endian header length N, N bytes of JSON {"__metadata__": {str: str},
# name: {"dtype", "shape", "data_offsets": [begin, end]}}, then the raw little-endian data.
# Written as the C++ writer and the reference implementation do: metadata first, tensors in name
# order with contiguous offsets, compact JSON padded with spaces to a multiple of 8 bytes.

_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.uint8: "U8", torch.int64: "I64"}
_TORCH_DTYPES = {v: k for k, v in _DTYPES.items()}


def _tensor_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: torch.Tensor} (F32, BF16, U8 or I64) and {str: str} metadata, atomically."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {t.dtype}")
        data = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns ({name: torch.Tensor}, {str: str})."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = _TORCH_DTYPES[info["dtype"]]
        buf = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16) if buf else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"])
    return tensors, metadata
