#!/usr/bin/python3
"""The torch_cka-style workflow the e2e bench races against `compare A.onnx B.onnx --measure minibatch:B`.

What a PyTorch user does to compare two trained CNNs layer by layer: build the networks in torch,
put a forward hook on every ReLU, run the probe images through both in batches of B, and accumulate
per batch the unbiased HSIC estimator (Song et al. 2012) of every pair of layers and of each layer with
itself; minibatch CKA is then ΣHSIC₁(K, L) / sqrt(ΣHSIC₁(K, K) · ΣHSIC₁(L, L)) (Nguyen, Raghu &
Kornblith 2021), as torch_cka accumulates it. Not torch_cka itself (not packaged here), and faster
than it: each layer's Gram is made once per batch and the HSIC of all pairs comes from one product.

    HSIC₁(K, L) = [tr(K̃L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((b−1)(b−2)) − 2 · 1ᵀK̃L̃1 / (b−2)] / (b(b−3)),
    K̃ = K with its diagonal set to 0.

The networks are the zoo's (models/train_zoo.py: conv3x3 → ReLU blocks, BatchNorm folded into the
convs at export, max-pools, global average pool, linear head), rebuilt as torch modules from the
ONNX file's own weights (onnx.numpy_helper), node by node. The images are the first N of
Fashion-MNIST's test set read from Debian's dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz) — the same images `fashion-mnist:N`
ships — normalised with models/zoo.json's constants in float32 steps, as the app does.

    /usr/bin/python3 test/bench/baselines/torch_hooks_minibatch.py A.onnx B.onnx --n 500 [--batch 100] [--threads 2]

Prints one JSON line: {"matrix": [[…]], "rows": [relu names of A], "cols": [of B], "n", "batches",
"seconds": {"total", "load", "forward_hsic"}}. Run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset.
"""
import argparse
import gzip
import json
import os
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from torch import nn  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class Flatten(nn.Module):
    def forward(self, x):
        return x.flatten(1)


def torch_from_onnx(path):
    """The zoo's sequential CNN as an nn.Sequential of torch modules, weights from the file."""
    model = onnx.load(path)
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    layers = []
    names = []
    for node in model.graph.node:
        a = attrs(node)
        if node.op_type == "Conv":
            w = weights[node.input[1]]
            pads = a.get("pads", [0, 0, 0, 0])
            assert pads[:2] == pads[2:] and a.get("group", 1) == 1, node.name
            conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", [1, 1])),
                             padding=tuple(pads[:2]), bias=len(node.input) > 2)
            conv.weight.data.copy_(w)
            if len(node.input) > 2:
                conv.bias.data.copy_(weights[node.input[2]])
            layers.append(conv)
        elif node.op_type == "Relu":
            layers.append(nn.ReLU())
        elif node.op_type == "MaxPool":
            assert a.get("pads", [0, 0, 0, 0]) == [0, 0, 0, 0] and not a.get("ceil_mode", 0), node.name
            layers.append(nn.MaxPool2d(tuple(a["kernel_shape"]), tuple(a.get("strides", a["kernel_shape"]))))
        elif node.op_type == "GlobalAveragePool":
            layers.append(nn.AdaptiveAvgPool2d(1))
        elif node.op_type == "Flatten":
            assert a.get("axis", 1) == 1
            layers.append(Flatten())
        elif node.op_type == "Gemm":
            w = weights[node.input[1]]
            if not a.get("transB", 0):
                w = w.t()
            assert a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0 and not a.get("transA", 0)
            linear = nn.Linear(w.shape[1], w.shape[0])
            linear.weight.data.copy_(w)
            linear.bias.data.copy_(weights[node.input[2]])
            layers.append(linear)
        else:
            raise NotImplementedError("%s (%s)" % (node.op_type, node.name))
        names.append(node.name)
    net = nn.Sequential(*layers).eval()
    relus = [(names[i], m) for i, m in enumerate(net) if isinstance(m, nn.ReLU)]
    return net, relus


def probe_images(n):
    """The first n test images, normalised as models/train_zoo.py does (float32, step by step)."""
    with open(os.path.join(ROOT, "models", "zoo.json")) as f:
        norm = json.load(f)["normalization"]
    with gzip.open(IMAGES, "rb") as f:
        raw = f.read()
    count, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    assert n <= count
    x = np.frombuffer(raw, np.uint8, n * rows * cols, 16).reshape(n, 1, rows, cols)
    x = x.astype(np.float32) * np.float32(norm["scale"])
    x = (x - np.float32(norm["mean"])) / np.float32(norm["std"])
    return torch.from_numpy(x)


def hooked(relus):
    """Forward hooks on every ReLU, storing its output flattened to [batch, features]."""
    store = [None] * len(relus)
    for i, (_, module) in enumerate(relus):
        module.register_forward_hook(lambda _m, _in, out, i=i: store.__setitem__(i, out.flatten(1)))
    return store


def gram(x):
    """X Xᵀ in float32; with Xᵀ copied contiguous, this torch build's mm runs twice as fast."""
    return torch.mm(x, x.t().contiguous())


def grams(features):
    """Each layer's Gram K = X Xᵀ with its diagonal zeroed, stacked [layers, b, b] (float64)."""
    out = torch.stack([gram(x) for x in features]).double()
    out.diagonal(dim1=1, dim2=2).zero_()
    return out


def hsic1(k, l, b):
    """Unbiased HSIC (Song et al. 2012) of every K in k [La, b, b] with every L in l [Lb, b, b]."""
    trace = k.reshape(len(k), -1) @ l.reshape(len(l), -1).t()  # tr(K̃L̃) = Σ K̃ ∘ L̃ (symmetric)
    ks, ls = k.sum(2), l.sum(2)  # row sums: 1ᵀK̃L̃1 = (K̃1)·(L̃1)
    total = ks.sum(1)[:, None] * ls.sum(1)[None, :] / ((b - 1) * (b - 2))
    cross = 2 * (ks @ ls.t()) / (b - 2)
    return (trace + total - cross) / (b * (b - 3))


def self_hsic1(k, b):
    ks = k.sum(2)
    return ((k * k).sum((1, 2)) + ks.sum(1) ** 2 / ((b - 1) * (b - 2)) - 2 * (ks * ks).sum(1) / (b - 2)) / (b * (b - 3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net_a, relus_a = torch_from_onnx(args.a)
    net_b, relus_b = torch_from_onnx(args.b)
    x = probe_images(args.n)
    loaded = time.perf_counter()
    feats_a, feats_b = hooked(relus_a), hooked(relus_b)
    b = args.batch
    batches = args.n // b
    xy = torch.zeros(len(relus_a), len(relus_b), dtype=torch.float64)
    xx = torch.zeros(len(relus_a), dtype=torch.float64)
    yy = torch.zeros(len(relus_b), dtype=torch.float64)
    with torch.no_grad():
        for i in range(batches):
            batch = x[i * b:(i + 1) * b]
            net_a(batch)
            net_b(batch)
            k, l = grams(feats_a), grams(feats_b)
            xy += hsic1(k, l, b)
            xx += self_hsic1(k, b)
            yy += self_hsic1(l, b)
    matrix = xy / torch.sqrt(xx[:, None] * yy[None, :])
    end = time.perf_counter()
    print(json.dumps({
        "matrix": matrix.tolist(),
        "rows": [name for name, _ in relus_a],
        "cols": [name for name, _ in relus_b],
        "n": args.n,
        "batches": batches,
        "torch": torch.__version__,
        "seconds": {"total": end - START, "load": loaded - START, "forward_hsic": end - loaded},
    }))


if __name__ == "__main__":
    main()
