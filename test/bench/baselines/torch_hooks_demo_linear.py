#!/usr/bin/python3
"""The paper demo's workflow the e2e bench races against `compare A.onnx B.onnx --measure linear`.

Two steps, each its own process, as a researcher runs them:

  forward  activations from PyTorch forward hooks on every ReLU (the networks and images as in
           torch_hooks_minibatch.py: the zoo's CNNs rebuilt from the ONNX weights, the first N
           Fashion-MNIST test images), in batches of 100, saved as float32 .npy files;
  cka      linear CKA of every pair of layers with the demo notebook's functions (Kornblith et al.
           2019) as they are written: per pair `cka(gram_linear(x), gram_linear(y))`, both Grams
           made again for every pair. numpy only, so it can run under a numpy with a fast BLAS
           (Debian's python3-numpy uses the reference BLAS).

    /usr/bin/python3 torch_hooks_demo_linear.py forward A.onnx B.onnx --n 500 --out DIR [--threads 2]
    python3 torch_hooks_demo_linear.py cka DIR

Each prints one JSON line with its "seconds"; `cka` also "matrix", "rows", "cols", "n".
"""
import argparse
import json
import os
import sys
import time

START = time.perf_counter()

import numpy as np  # noqa: E402


# The demo notebook's functions (this folder is on sys.path: the script's own).
from demo_cka import cka, gram_linear  # noqa: E402


def forward(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch
    from torch_hooks_minibatch import hooked, probe_images, torch_from_onnx

    torch.set_num_threads(args.threads)
    nets = [torch_from_onnx(args.a), torch_from_onnx(args.b)]
    x = probe_images(args.n)
    loaded = time.perf_counter()
    stores = [hooked(relus) for _, relus in nets]
    acts = [[[] for _ in relus] for _, relus in nets]
    with torch.no_grad():
        for start in range(0, args.n, args.batch):
            batch = x[start:start + args.batch]
            for (net, _), store, side in zip(nets, stores, acts):
                net(batch)
                for i, f in enumerate(store):
                    side[i].append(f.numpy().copy())
    os.makedirs(args.out, exist_ok=True)
    for s, side in enumerate(acts):
        for i, parts in enumerate(side):
            np.save(os.path.join(args.out, "%s%d.npy" % ("ab"[s], i)), np.concatenate(parts))
    names = {"rows": [n for n, _ in nets[0][1]], "cols": [n for n, _ in nets[1][1]]}
    with open(os.path.join(args.out, "layers.json"), "w") as f:
        json.dump(names, f)
    end = time.perf_counter()
    print(json.dumps({"seconds": {"total": end - START, "load": loaded - START, "forward": end - loaded}}))


def cka_all(args):
    with open(os.path.join(args.dir, "layers.json")) as f:
        names = json.load(f)
    xs = [np.load(os.path.join(args.dir, "a%d.npy" % i)) for i in range(len(names["rows"]))]
    ys = [np.load(os.path.join(args.dir, "b%d.npy" % i)) for i in range(len(names["cols"]))]
    loaded = time.perf_counter()
    matrix = [[float(cka(gram_linear(x), gram_linear(y))) for y in ys] for x in xs]
    end = time.perf_counter()
    print(json.dumps({
        "matrix": matrix,
        "n": int(xs[0].shape[0]),
        "numpy": np.__version__,
        **names,
        "seconds": {"total": end - START, "load": loaded - START, "cka": end - loaded},
    }))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="step", required=True)
    f = sub.add_parser("forward")
    f.add_argument("a")
    f.add_argument("b")
    f.add_argument("--n", type=int, required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--batch", type=int, default=100)
    f.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("cka")
    c.add_argument("dir")
    args = ap.parse_args()
    forward(args) if args.step == "forward" else cka_all(args)


if __name__ == "__main__":
    main()
