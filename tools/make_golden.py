#!/usr/bin/python3
"""Writes the golden files the C++ tests compare against (tests/golden_test.cpp).

    /usr/bin/python3 tools/make_golden.py [OUTPUT_DIR] [--only FILE ...]   (default: tests/golden, every file)

--only writes just the named files (e.g. --only layers.safetensors), leaving the others as they are.

For each variant (seed, paper, torchvision, cifar), at a reduced size, tests/golden/<variant>.safetensors:
    input              F32 [N, 3, H, W]
    labels             I64 [N]
    param.<name>       every parameter as initialised by PyTorch (nn.Conv2d / nn.Linear defaults)
    act.<layer>        every layer's output, <layer> = module path (features.0, ..., avgpool, flatten, classifier.6)
    loss               F32 [1]  nn.CrossEntropyLoss() (mean over the batch)
    grad_act.<layer>   d loss / d (output of the layer)
    grad_input         d loss / d input
    grad.<name>        d loss / d parameter
    after3.<name>      every parameter after 3 steps of torch.optim.SGD(lr, momentum, weight_decay), each
                       step a forward and backward pass on the same batch
    __metadata__       the options (variant, num_classes, width, hidden, input_size, batch, lr, ...) and
                       bf16_error: JSON {tensor: relative error} of the same run with every layer's
                       values, weights and gradients rounded to bf16 (the bf16 tolerance's basis)
Dropout is 0 so the results do not depend on a random mask.

tests/golden/loss_smoothing.safetensors: nn.CrossEntropyLoss(label_smoothing=0.1) of the cifar
golden's logits: logits F32 [N, C], labels I64 [N], loss F32 [1], grad F32 [N, C] (d loss / d logits).

tests/golden/adaptive_avgpool.safetensors: nn.AdaptiveAvgPool2d((6, 6)) of small maps whose windows
overlap and differ in size (the torchvision golden only reaches it with a 1x1 map). Per case NAME:
NAME.input, NAME.output, NAME.grad_output (random), NAME.grad_input.

tests/golden/layers.safetensors: single layers at parameters the variants do not reach (even LRN
sizes, where PyTorch's window is size/2 channels before and (size-1)/2 after; max-pool padding; a
strided, padded, grouped convolution), each as the network [layer, Flatten] with
nn.CrossEntropyLoss() on the flattened output, so that every backend can be checked through its Net
(tests/layers/). Per case NAME (LAYER_CASES): NAME.input, NAME.labels, NAME.output (the layer's
output), NAME.loss, NAME.grad_input, and for the convolution NAME.weight, NAME.bias, NAME.grad_weight,
NAME.grad_bias. Inputs and weights are bf16-representable, so that a bf16 backend starts from the same
values; inputs are distinct after rounding, so no max-pool window has a tie.

tests/golden/dropout.safetensors: nn.Dropout(p) in training mode on 2^20 ones, for each p of
DROPOUT_PS, with the gradient of sum(output): pP.kept (I64 [1], how many were kept), pP.kept_value
and pP.grad_kept_value (F32 [1], the one value every kept output and its input gradient take; the
script checks that dropped elements are exactly 0 in both and that a random input's kept outputs are
input * kept_value). The masks of two programs cannot be compared element by element (PyTorch draws
from its own generator); their keep rate and scale can.

Parameters are initialised and inputs drawn in float32 with fixed seeds; everything after that is
computed in float64 and stored as float32, so the reference carries no float32 rounding of its own
and does not depend on the machine's BLAS or thread count.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import alexnet_torch as at  # noqa: E402

SEED = 20121203
LR, MOMENTUM, WEIGHT_DECAY, STEPS = 0.01, 0.9, 5e-4, 3
NUM_CLASSES = 10

# (variant, width, hidden, input_size, batch, input_std). Small enough that all the golden files
# together stay under 3 MB, large enough that every layer is exercised: overlapping max-pool windows,
# grouped convolutions and LRN (paper), AdaptiveAvgPool2d mapping a 1x1 map to 6x6 (torchvision), and
# cifar's 3x3 final maps, which pin the flatten order (C, H, W). The paper's network takes
# raw-pixel-scale inputs (mean subtracted, not divided by the spread), where its LRN departs from a
# plain scaling. cifar uses an odd batch.
CONFIGS = [
    ("seed", 0.0625, 32, 67, 2, 1.0),
    ("paper", 0.0625, 32, 67, 2, 50.0),
    ("torchvision", 0.0625, 16, 67, 2, 1.0),
    ("cifar", 0.0625, 32, 32, 3, 1.0),
]

# (name, input shape, output size) for the standalone adaptive average pooling file.
POOL_CASES = [
    ("5x7", (2, 3, 5, 7), (6, 6)),
    ("13x9", (1, 2, 13, 9), (6, 6)),
    ("4x4", (1, 2, 4, 4), (6, 6)),
]


# Dropout probabilities for tests/golden/dropout.safetensors: the default 0.5, the demo's 0.25, and
# rates on either side; 2^20 draws each.
DROPOUT_PS = (0.1, 0.25, 0.5, 0.75)
DROPOUT_N = 1 << 20

# (name, input shape, layer) for tests/golden/layers.safetensors; tests/layers/ builds the same layers
# under the same names.
LAYER_CASES = [
    ("lrn_size4", (2, 7, 3, 3), lambda: torch.nn.LocalResponseNorm(4, alpha=0.1, beta=0.75, k=1.0)),
    ("lrn_size2", (2, 7, 3, 3), lambda: torch.nn.LocalResponseNorm(2, alpha=0.3, beta=0.75, k=2.0)),
    ("lrn_size3", (2, 7, 3, 3), lambda: torch.nn.LocalResponseNorm(3, alpha=0.2, beta=0.6, k=1.0)),
    ("maxpool_k3s2p1", (2, 3, 9, 9), lambda: torch.nn.MaxPool2d(3, 2, padding=1)),
    ("maxpool_k2s2p1", (2, 3, 7, 7), lambda: torch.nn.MaxPool2d(2, 2, padding=1)),
    ("conv_k3s2p1g2", (2, 4, 7, 7), lambda: torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)),
]


def f32(t):
    return t.detach().to(torch.float32).contiguous()


class _RoundBF16(torch.autograd.Function):
    """Rounds a value to bfloat16 going forward and its gradient going back (compute stays float64)."""

    @staticmethod
    def forward(ctx, x):
        return x.to(torch.bfloat16).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(torch.bfloat16).to(grad.dtype)


def _apply(layer, h, bf16):
    """One layer; with bf16, its weight is rounded as a bf16 backend rounds it (biases stay fp32)."""
    if bf16 and isinstance(layer, torch.nn.Conv2d):
        return F.conv2d(h, _RoundBF16.apply(layer.weight), layer.bias, layer.stride, layer.padding, layer.dilation,
                        layer.groups)
    if bf16 and isinstance(layer, torch.nn.Linear):
        return F.linear(h, _RoundBF16.apply(layer.weight), layer.bias)
    return layer(h)


def train(net, x32, labels, bf16):
    """One traced forward and backward, then STEPS SGD steps on the same batch (the first using the
    traced gradients). With bf16, every layer's input, output, weight and gradient is rounded to bf16:
    what a bf16 backend with fp32 master weights does, up to where exactly it rounds.
    Returns (acts [(name, tensor with .grad)], loss, input tensor with .grad, {name: grad}, {name: param after})."""
    x = x32.double().requires_grad_(True)

    def forward(inp, keep):
        h = _RoundBF16.apply(inp) if bf16 else inp
        for name, layer in net.layers():
            h = _apply(layer, h, bf16)
            if bf16:
                h = _RoundBF16.apply(h)
            if keep is not None:
                h.retain_grad()
                keep.append((name, h))
        return h

    acts = []
    loss = F.cross_entropy(forward(x, acts), labels)
    net.zero_grad()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in net.named_parameters()}
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    for step in range(STEPS):
        if step > 0:
            opt.zero_grad()
            F.cross_entropy(forward(x32.double(), None), labels).backward()
        opt.step()
    after = {name: p.detach().clone() for name, p in net.named_parameters()}
    return acts, loss, x, grads, after


def rel_error(a, b):
    return float((a.double() - b.double()).norm() / max(float(b.double().norm()), 1e-30))


def make_variant(variant, width, hidden, input_size, batch, input_std):
    torch.manual_seed(SEED)
    net = at.make_net(variant, num_classes=NUM_CLASSES, width=width, hidden=hidden, input_size=input_size,
                      dropout=0.0)
    gen = torch.Generator().manual_seed(SEED + 1)
    x32 = torch.randn(batch, 3, input_size, input_size, generator=gen) * input_std
    labels = torch.randint(0, NUM_CLASSES, (batch,), generator=gen, dtype=torch.int64)

    out = {"input": f32(x32), "labels": labels.clone()}
    for name, p in net.named_parameters():
        out["param." + name] = f32(p)

    initial = {name: p.detach().clone() for name, p in net.named_parameters()}
    net = net.double()
    net.train()
    acts, loss, x, grads, after = train(net, x32, labels, bf16=False)
    for name, a in acts:
        out["act." + name] = f32(a)
        out["grad_act." + name] = f32(a.grad)
    out["loss"] = f32(loss.reshape(1))
    out["grad_input"] = f32(x.grad)
    for name, g in grads.items():
        out["grad." + name] = f32(g)
    for name, p in after.items():
        out[f"after{STEPS}." + name] = f32(p)
    logits = acts[-1][1].detach()

    # The same in simulated bf16, from the same start: how far bf16 rounding alone moves each result.
    # bf16 moves max-pool winners (near-ties become ties), which reroutes gradients below the pool, so
    # some gradients legitimately differ by 10-30%; the C++ test bounds a bf16 backend by these errors.
    sim = at.make_net(variant, num_classes=NUM_CLASSES, width=width, hidden=hidden, input_size=input_size, dropout=0.0)
    sim.load_state_dict(initial)
    sim = sim.double()
    s_acts, s_loss, s_x, s_grads, s_after = train(sim, x32, labels, bf16=True)
    bf16_error = {"loss": rel_error(s_loss.reshape(1), out["loss"]), "grad_input": rel_error(s_x.grad, out["grad_input"])}
    for name, a in s_acts:
        bf16_error["act." + name] = rel_error(a, out["act." + name])
        bf16_error["grad_act." + name] = rel_error(a.grad, out["grad_act." + name])
    for name in grads:
        bf16_error["grad." + name] = rel_error(s_grads[name], out["grad." + name])
        bf16_error[f"after{STEPS}." + name] = rel_error(s_after[name], out[f"after{STEPS}." + name])
        bf16_error["update." + name] = rel_error(s_after[name] - initial[name], after[name] - initial[name])

    metadata = {
        "variant": variant, "num_classes": NUM_CLASSES, "width": repr(width), "hidden": hidden,
        "input_size": input_size, "batch": batch, "dropout": "0", "input_std": repr(input_std),
        "lr": repr(LR), "momentum": repr(MOMENTUM), "weight_decay": repr(WEIGHT_DECAY), "sgd_steps": STEPS,
        "seed": SEED, "torch_version": torch.__version__, "compute": "float64 from float32 parameters and input",
        "generator": "tools/make_golden.py",
        "bf16_error": json.dumps({k: float(f"{v:.4g}") for k, v in sorted(bf16_error.items())}, separators=(",", ":")),
    }
    return out, metadata, logits, labels


def make_smoothing(logits, labels):
    z = f32(logits).double().requires_grad_(True)  # start from the stored (float32) logits
    loss = F.cross_entropy(z, labels, label_smoothing=0.1)
    loss.backward()
    tensors = {"logits": f32(z), "labels": labels.clone(), "loss": f32(loss.reshape(1)), "grad": f32(z.grad)}
    metadata = {"label_smoothing": "0.1", "logits_from": "cifar.safetensors act.classifier.6",
                "torch_version": torch.__version__, "generator": "tools/make_golden.py"}
    return tensors, metadata


def make_adaptive_pool():
    gen = torch.Generator().manual_seed(SEED + 2)
    tensors = {}
    for name, shape, size in POOL_CASES:
        x32 = torch.randn(*shape, generator=gen)
        x = x32.double().requires_grad_(True)
        y = F.adaptive_avg_pool2d(x, size)
        dy32 = torch.randn(*y.shape, generator=gen)
        y.backward(dy32.double())
        tensors[name + ".input"] = f32(x32)
        tensors[name + ".output"] = f32(y)
        tensors[name + ".grad_output"] = f32(dy32)
        tensors[name + ".grad_input"] = f32(x.grad)
    return tensors, {"torch_version": torch.__version__, "generator": "tools/make_golden.py"}


def make_dropout():
    torch.manual_seed(SEED + 5)
    tensors = {}
    for p in DROPOUT_PS:
        name = f"p{p}"
        x = torch.ones(DROPOUT_N, requires_grad=True)
        y = torch.nn.Dropout(p)(x)  # a new module is in training mode
        y.backward(torch.ones_like(y))
        kept = y != 0
        values, grads = y[kept].unique(), x.grad[kept].unique()
        assert len(values) == 1 and len(grads) == 1, f"{name}: more than one kept value"
        assert torch.all(x.grad[~kept] == 0), f"{name}: a dropped element has a gradient"
        z = torch.randn(4096)  # kept outputs are input * the same scale
        out = torch.nn.Dropout(p)(z)
        assert torch.equal(out[out != 0], z[out != 0] * values[0]), f"{name}: kept outputs are not input * scale"
        tensors[name + ".kept"] = kept.sum().reshape(1).to(torch.int64)
        tensors[name + ".kept_value"] = values.reshape(1)
        tensors[name + ".grad_kept_value"] = grads.reshape(1)
    metadata = {"n": DROPOUT_N, "ps": ",".join(repr(p) for p in DROPOUT_PS), "torch_version": torch.__version__,
                "generator": "tools/make_golden.py"}
    return tensors, metadata


def bf16_representable(t):
    return t.to(torch.bfloat16).to(torch.float32)


def make_layers():
    gen = torch.Generator().manual_seed(SEED + 3)
    tensors = {}
    for name, shape, make in LAYER_CASES:
        torch.manual_seed(SEED + 4)
        layer = make()
        n = shape[0]
        # Distinct values: a shuffled ramp of integers k, |k| <= 256 (exact in bf16's 8-bit significand),
        # times a power of two, so no max-pool window has a tie in any precision. The spread (about +-3)
        # makes the LRN's normalisation matter.
        count = 1
        for d in shape:
            count *= d
        assert count <= 512
        scale = 2.0 ** -math.ceil(math.log2(count / 6))
        ramp = (torch.randperm(count, generator=gen) - count // 2).to(torch.float32) * scale
        x32 = ramp.reshape(shape)
        assert torch.equal(bf16_representable(x32), x32)
        if isinstance(layer, torch.nn.Conv2d):
            with torch.no_grad():
                layer.weight.copy_(bf16_representable(layer.weight))
                layer.bias.copy_(bf16_representable(layer.bias))
        layer = layer.double()
        x = x32.double().requires_grad_(True)
        y = layer(x)
        y.retain_grad()
        z = y.flatten(1)
        labels = torch.randint(0, z.shape[1], (n,), generator=gen, dtype=torch.int64)
        loss = F.cross_entropy(z, labels)
        loss.backward()
        tensors[name + ".input"] = f32(x32)
        tensors[name + ".labels"] = labels.clone()
        tensors[name + ".output"] = f32(y)
        tensors[name + ".loss"] = f32(loss.reshape(1))
        tensors[name + ".grad_input"] = f32(x.grad)
        if isinstance(layer, torch.nn.Conv2d):
            tensors[name + ".weight"] = f32(layer.weight)
            tensors[name + ".bias"] = f32(layer.bias)
            tensors[name + ".grad_weight"] = f32(layer.weight.grad)
            tensors[name + ".grad_bias"] = f32(layer.bias.grad)
    metadata = {"cases": ",".join(name for name, _, _ in LAYER_CASES), "torch_version": torch.__version__,
                "compute": "float64 from bf16-representable float32 inputs and parameters",
                "generator": "tools/make_golden.py"}
    return tensors, metadata


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        only = set(args[args.index("--only") + 1:])
        args = args[:args.index("--only")]
    out_dir = args[0] if args else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden"))
    os.makedirs(out_dir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    total = 0

    def wanted(name):
        return only is None or name in only

    def write(name, tensors, metadata):
        nonlocal total
        path = os.path.join(out_dir, name)
        at.write_safetensors(path, tensors, metadata)
        size = os.path.getsize(path)
        total += size
        print(f"{path}: {len(tensors)} tensors, {size / 1024:.0f} KiB")

    for variant, width, hidden, input_size, batch, input_std in CONFIGS:
        if not (wanted(f"{variant}.safetensors") or (variant == "cifar" and wanted("loss_smoothing.safetensors"))):
            continue
        tensors, metadata, logits, labels = make_variant(variant, width, hidden, input_size, batch, input_std)
        if wanted(f"{variant}.safetensors"):
            write(f"{variant}.safetensors", tensors, metadata)
        if variant == "cifar" and wanted("loss_smoothing.safetensors"):
            write("loss_smoothing.safetensors", *make_smoothing(logits, labels))
    if wanted("adaptive_avgpool.safetensors"):
        write("adaptive_avgpool.safetensors", *make_adaptive_pool())
    if wanted("layers.safetensors"):
        write("layers.safetensors", *make_layers())
    if wanted("dropout.safetensors"):
        write("dropout.safetensors", *make_dropout())
    print(f"total {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
