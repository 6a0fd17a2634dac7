"""The four AlexNet variants as PyTorch modules, each written out from its source, and a small
safetensors reader/writer.

Each variant's module is spelled out here from where it comes from, not from the C++ program:

    seed         the seed article's `AlexNet(nn.Module)` (conv1 padding 2, 256 * 6 * 6 -> 4096 -> 4096 -> C)
    paper        Krizhevsky, Sutskever and Hinton 2012: 227 x 227 input, conv1 without padding, ReLU then
                 response normalisation (n=5, k=2, alpha=1e-4, beta=0.75) after conv1 and conv2, max-pools
                 after both normalisations and after conv5, conv2, conv4 and conv5 split into the two GPU
                 columns (groups=2), conv3 connected to both columns
    torchvision  torchvision.models.alexnet (64-192-384-256-256, AdaptiveAvgPool2d((6, 6)))
    cifar        our documented 32 x 32 network (README, "Models"): 5 x 5 convolutions 48 and 128, each
                 followed by a max-pool, 3 x 3 convolutions 192, 192, 128 and a max-pool, 3 x 3 maps before
                 the classifier, FC 512 -> 512 -> C

so a wrong row in the C++ table (src/model/net_spec.cpp) shows up as a difference instead of being
copied into the golden files. tools/check_tables.py (the ctest test
TorchInterop.LayerTablesMatchTheModulesFromTheirSources) compares `alexnet info --json` with these
modules layer by layer. Parameter names are the module paths ("features.0.weight",
"classifier.1.bias", ...), the C++ ParamTable's names.

The options are the program's: `width` scales every convolution's channel count (rounded to the
nearest multiple of its groups, at least one group), `hidden` is the fully connected width (0: the
variant's, 4096 or 512, times `width`), `input_size` 0 is the variant's (224, 227, 224, 32), and
`dropout` is the classifier's p.

    import alexnet_torch as at
    net = at.make_net("paper", num_classes=10, width=0.125, hidden=64, input_size=99, dropout=0.0)
    for name, module in net.layers():   # every layer in execution order, named as the C++ table names it
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
DEFAULT_INPUT = {"seed": 224, "paper": 227, "torchvision": 224, "cifar": 32}
DEFAULT_HIDDEN = {"seed": 4096, "paper": 4096, "torchvision": 4096, "cifar": 512}


def scaled(channels, width, groups=1):
    """`channels` times the width multiplier, rounded half away from zero to a multiple of `groups`,
    at least `groups`."""
    c = math.floor(channels * width / groups + 0.5) * groups
    return max(c, groups)


def _seed_features(w):
    # The seed article's features, channel counts times the width multiplier.
    c1, c2, c3, c4, c5 = scaled(96, w), scaled(256, w), scaled(384, w), scaled(384, w), scaled(256, w)
    return [
        nn.Conv2d(3, c1, kernel_size=11, stride=4, padding=2),  # conv1
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2),  # conv2
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # conv3
        nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1),  # conv4
        nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1),  # conv5
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    ]


def _paper_lrn():
    # The paper's k=2, n=5, alpha=1e-4, beta=0.75. PyTorch's layer divides alpha by n, as the authors'
    # cuda-convnet does with the same 1e-4 (its layer parser divides the scale by the size); the
    # paper's formula is written without the division.
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


def _paper_features(w):
    # Section 3.5 and Figure 2: 96, 256, 384, 384, 256 kernels; conv2, conv4 and conv5 see only the
    # kernel maps of their own GPU (groups=2), conv3 sees both.
    c1, c2, c3, c4, c5 = (scaled(96, w, 2), scaled(256, w, 2), scaled(384, w), scaled(384, w, 2),
                          scaled(256, w, 2))
    return [
        nn.Conv2d(3, c1, kernel_size=11, stride=4),  # conv1: 227 -> 55
        nn.ReLU(),
        _paper_lrn(),
        nn.MaxPool2d(kernel_size=3, stride=2),  # overlapping pooling, s=2, z=3
        nn.Conv2d(c1, c2, kernel_size=5, padding=2, groups=2),  # conv2
        nn.ReLU(),
        _paper_lrn(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # conv3
        nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1, groups=2),  # conv4
        nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1, groups=2),  # conv5
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    ]


def _torchvision_features(w):
    # torchvision.models.alexnet's features.
    c1, c2, c3, c4, c5 = scaled(64, w), scaled(192, w), scaled(384, w), scaled(256, w), scaled(256, w)
    return [
        nn.Conv2d(3, c1, kernel_size=11, stride=4, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    ]


def _cifar_features(w):
    # README: conv 48@5 -> pool -> 128@5 -> pool -> 192@3 -> 192@3 -> 128@3 -> pool at 32 x 32, 3 x 3
    # maps before the classifier: stride 1, padding that keeps the size (2 for 5 x 5, 1 for 3 x 3) and
    # AlexNet's 3 x 3, stride 2 pools (32 -> 15 -> 7 -> 3).
    c1, c2, c3, c4, c5 = scaled(48, w), scaled(128, w), scaled(192, w), scaled(192, w), scaled(128, w)
    return [
        nn.Conv2d(3, c1, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
    ]


_FEATURES = {"seed": _seed_features, "paper": _paper_features, "torchvision": _torchvision_features,
             "cifar": _cifar_features}


def _window_out(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _features_output(features, input_size):
    """(channels, height) of the features' output for a square input, from the modules' own attributes."""
    c, s = 3, input_size
    for m in features:
        if isinstance(m, nn.Conv2d):
            c, s = m.out_channels, _window_out(s, m.kernel_size[0], m.stride[0], m.padding[0])
        elif isinstance(m, nn.MaxPool2d):
            s = _window_out(s, m.kernel_size, m.stride, m.padding)
        if s < 1:
            raise ValueError(f"input size {input_size} is too small for this network")
    return c, s


class AlexNet(nn.Module):
    """features -> [avgpool] -> flatten -> classifier, with PyTorch's module paths as names."""

    def __init__(self, variant, num_classes=1000, width=1.0, hidden=0, input_size=0, dropout=0.5):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant '{variant}' (expected one of {', '.join(VARIANTS)})")
        self.variant = variant
        self.input_size = input_size or DEFAULT_INPUT[variant]
        hidden = hidden or scaled(DEFAULT_HIDDEN[variant], width)
        self.features = nn.Sequential(*_FEATURES[variant](width))
        c, s = _features_output(self.features, self.input_size)
        self.avgpool = None
        if variant == "torchvision":
            self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
            s = 6
        # The classifier every source shares: dropout before each hidden fully connected layer.
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(c * s * s, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

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


# ---- comparison with the C++ table -----------------------------------------------------------------

def _hyper(module):
    """(kind, {hyper-parameter: value}) of a module, in the names `alexnet info --json` uses."""
    if isinstance(module, nn.Conv2d):
        return "Conv2d", {"in_channels": module.in_channels, "out_channels": module.out_channels,
                          "kernel_size": module.kernel_size[0], "stride": module.stride[0],
                          "padding": module.padding[0], "groups": module.groups}
    if isinstance(module, nn.ReLU):
        return "ReLU", {}
    if isinstance(module, nn.MaxPool2d):
        return "MaxPool2d", {"kernel_size": module.kernel_size, "stride": module.stride, "padding": module.padding}
    if isinstance(module, nn.LocalResponseNorm):
        return "LocalResponseNorm", {"size": module.size, "alpha": module.alpha, "beta": module.beta, "k": module.k}
    if isinstance(module, nn.Dropout):
        return "Dropout", {"p": module.p}
    if isinstance(module, nn.Linear):
        return "Linear", {"in_features": module.in_features, "out_features": module.out_features}
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "AdaptiveAvgPool2d", {"output_size": list(module.output_size)}
    return "Flatten", {}  # the lambda of layers()


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):  # the table holds float32 values
        return math.isclose(float(a), float(b), rel_tol=1e-6)
    return a == b


def table_differences(net, table):
    """Every way the C++ layer table `table` (the JSON of `alexnet info --model ... --json`) differs
    from the module `net`: layer names, kinds, hyper-parameters, output shapes, parameter names and
    shapes. An empty list when they agree."""
    diffs = []
    for key, want in (("variant", net.variant), ("in_channels", 3), ("input_size", net.input_size),
                      ("num_classes", net.classifier[-1].out_features)):
        if table.get(key) != want:
            diffs.append(f"{key}: table {table.get(key)!r}, module {want!r}")
    layers = net.layers()
    rows = table.get("layers", [])
    if len(rows) != len(layers):
        diffs.append(f"{len(rows)} layers in the table, {len(layers)} in the module")
    x = torch.zeros(1, 3, net.input_size, net.input_size)
    training = net.training
    net.eval()  # dropout would draw from the random generator
    with torch.no_grad():
        for i, (row, (name, module)) in enumerate(zip(rows, layers)):
            x = module(x)
            kind, hyper = _hyper(module)
            where = f"layer {i} ({name})"
            if row.get("name") != name:
                diffs.append(f"{where}: named '{row.get('name')}' in the table")
            if row.get("kind") != kind:
                diffs.append(f"{where}: {row.get('kind')} in the table, {kind} in the module")
                continue
            for key, value in hyper.items():
                if key not in row or not _same(row[key], value):
                    diffs.append(f"{where}: {key} {row.get(key)!r} in the table, {value!r} in the module")
            extra = set(row) - set(hyper) - {"name", "kind", "output"}
            if extra:
                diffs.append(f"{where}: the table has {sorted(extra)}, the module does not")
            if row.get("output") != list(x.shape[1:]):
                diffs.append(f"{where}: output {row.get('output')} in the table, {list(x.shape[1:])} in the module")
    net.train(training)
    params = [{"name": k, "shape": list(v.shape)} for k, v in net.state_dict().items()]
    rows = table.get("params", [])
    for i in range(max(len(rows), len(params))):
        ours = rows[i] if i < len(rows) else None
        theirs = params[i] if i < len(params) else None
        if ours != theirs:
            diffs.append(f"parameter {i}: {ours} in the table, {theirs} in the module")
    if table.get("num_params") != sum(p.numel() for p in net.parameters()):
        diffs.append(f"num_params: table {table.get('num_params')}, module {sum(p.numel() for p in net.parameters())}")
    return diffs


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
