"""The four AlexNet variants as PyTorch modules, and a small safetensors reader/writer.

The modules are built from the C++ program's own layer table (`alexnet info --model NAME --json`,
src/model/spec_json.h), so they cannot drift from src/model/net_spec.cpp: parameter names (the module
paths, "features.0.weight", "classifier.1.bias", ...) are the C++ ParamTable's names and state_dict
order is the C++ buffer order. Used by tools/make_golden.py and by any script that compares with or
converts weights for the C++ program.

    import alexnet_torch as at
    at.set_binary("build/src/alexnet")  # else $ALEXNET_BINARY, else build/src/alexnet in this repository
    net = at.make_net("paper", num_classes=10, width=0.125, hidden=64, input_size=99, dropout=0.0)
    for name, module in net.layers():   # every layer in execution order, as the C++ table lists it
        ...
    at.write_safetensors(path, {"x": tensor}, {"key": "value"})
    tensors, metadata = at.read_safetensors(path)

Needs only torch (and numpy, which torch uses for byte conversion), and a built `alexnet`. Run with
/usr/bin/python3.
"""
import json
import os
import struct
import subprocess

import torch
from torch import nn

VARIANTS = ("seed", "paper", "torchvision", "cifar")
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_binary = None


def set_binary(path):
    """The `alexnet` program whose layer tables make_net builds from."""
    global _binary
    _binary = path


def binary():
    path = _binary or os.environ.get("ALEXNET_BINARY") or os.path.join(_REPO, "build", "src", "alexnet")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise FileNotFoundError(f"no alexnet binary at '{path}': the PyTorch modules are built from its layer "
                                "tables (build it, set $ALEXNET_BINARY or call set_binary)")
    return path


def layer_table(variant, num_classes=1000, width=1.0, hidden=0, input_size=0, dropout=0.5):
    """The C++ table of `variant` with these options, as `alexnet info --model ... --json` prints it."""
    cmd = [binary(), "info", "--model", variant, "--num-classes", str(num_classes), "--width", repr(float(width)),
           "--hidden", str(hidden), "--input-size", str(input_size), "--dropout", repr(float(dropout)), "--json"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise ValueError(r.stderr.strip().removeprefix("error: ") or f"{' '.join(cmd)} failed")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _module(layer):
    kind = layer["kind"]
    if kind == "Conv2d":
        return nn.Conv2d(layer["in_channels"], layer["out_channels"], layer["kernel_size"], stride=layer["stride"],
                         padding=layer["padding"], groups=layer["groups"])
    if kind == "ReLU":
        return nn.ReLU(inplace=False)
    if kind == "MaxPool2d":
        return nn.MaxPool2d(layer["kernel_size"], layer["stride"], padding=layer["padding"])
    if kind == "LocalResponseNorm":
        return nn.LocalResponseNorm(layer["size"], alpha=layer["alpha"], beta=layer["beta"], k=layer["k"])
    if kind == "Dropout":
        return nn.Dropout(layer["p"])
    if kind == "Linear":
        return nn.Linear(layer["in_features"], layer["out_features"])
    if kind == "AdaptiveAvgPool2d":
        return nn.AdaptiveAvgPool2d(tuple(layer["output_size"]))
    if kind == "Flatten":
        return nn.Flatten(1)
    raise ValueError(f"layer {layer['name']}: unknown kind '{kind}'")


class AlexNet(nn.Module):
    """features -> [avgpool] -> flatten -> classifier, with PyTorch's module paths as names, built
    layer by layer from the C++ table."""

    def __init__(self, variant, num_classes=1000, width=1.0, hidden=0, input_size=0, dropout=0.5, table=None):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant '{variant}' (expected one of {', '.join(VARIANTS)})")
        if table is None:
            table = layer_table(variant, num_classes, width, hidden, input_size, dropout)
        elif table["variant"] != variant:
            raise ValueError(f"the given table is of '{table['variant']}', not '{variant}'")
        self.variant = variant
        self.input_size = table["input_size"]
        self.table = table
        groups = {"features": [], "classifier": []}
        self._order = []  # (name, container, index) in execution order
        self.avgpool = None
        for layer in table["layers"]:
            name = layer["name"]
            head, _, index = name.partition(".")
            if head in groups:
                if int(index) != len(groups[head]):
                    raise ValueError(f"layer {name}: the table's {head} indices are not consecutive")
                groups[head].append(_module(layer))
                self._order.append((name, head, int(index)))
            elif name == "avgpool":
                self.avgpool = _module(layer)
                self._order.append((name, "avgpool", None))
            elif name == "flatten":
                self._order.append((name, "flatten", None))
            else:
                raise ValueError(f"layer {name}: not under features, avgpool, flatten or classifier")
        self.features = nn.Sequential(*groups["features"])
        self.classifier = nn.Sequential(*groups["classifier"])
        names = [k for k in self.state_dict()]
        want = [p["name"] for p in table["params"]]
        if names != want:
            raise ValueError(f"state_dict {names} differs from the C++ parameter table {want}")

    def layers(self):
        """(name, callable) for every layer in execution order; names match the C++ Layer::name."""
        out = []
        for name, where, index in self._order:
            if where == "flatten":
                out.append((name, lambda x: torch.flatten(x, 1)))
            elif where == "avgpool":
                out.append((name, self.avgpool))
            else:
                out.append((name, getattr(self, where)[index]))
        return out

    def forward(self, x):
        for _, layer in self.layers():
            x = layer(x)
        return x


def make_net(variant, num_classes=1000, width=1.0, hidden=0, input_size=0, dropout=0.5, table=None):
    """`table`: a layer table already printed by `alexnet info --model ... --json` (where the binary
    cannot run, e.g. beside another library path); otherwise the binary is asked."""
    return AlexNet(variant, num_classes=num_classes, width=width, hidden=hidden, input_size=input_size,
                   dropout=dropout, table=table)


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
