#!/usr/bin/python3
"""The efficient numpy form of linear CKA the e2e bench races against `compare DIR_A DIR_B --measure linear`.

Reads two folders written by `cka-workbench extract` (manifest.json + one float32 [n, p] .npy per
layer) and computes linear CKA of every layer of A against every layer of B: each Gram once as
X Xᵀ (numpy runs `x @ x.T` as a symmetric rank-k update, syrk), centred once, then one stacked
product (L_A × n²)·(n² × L_B) for every HSIC, normalised by the Grams' Frobenius norms. Loading the
.npy files is part of the time, as it is of the app's.

    python3 test/bench/baselines/numpy_efficient_linear.py DIR_A DIR_B

Prints one JSON line: {"matrix", "n", "seconds": {"total", "load", "grams", "hsic"}, "numpy"}.
Run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset (they force a slower kernel).
"""
import json
import os
import sys
import time

START = time.perf_counter()

import numpy as np  # noqa: E402


def load(folder):
    with open(os.path.join(folder, "manifest.json")) as f:
        manifest = json.load(f)
    return [np.load(os.path.join(folder, layer["file"])) for layer in manifest["layers"]]


def centred(x):
    g = x @ x.T  # syrk
    means = np.mean(g, 0, dtype=np.float64)
    means -= np.mean(means) / 2
    g -= means[:, None].astype(g.dtype)
    g -= means[None, :].astype(g.dtype)
    return g.ravel()


def main():
    t0 = time.perf_counter()
    xs, ys = load(sys.argv[1]), load(sys.argv[2])
    t1 = time.perf_counter()
    a = np.stack([centred(x) for x in xs])
    b = np.stack([centred(y) for y in ys])
    t2 = time.perf_counter()
    hsic = a @ b.T
    na = np.sqrt(np.einsum("ij,ij->i", a, a, dtype=np.float64))
    nb = np.sqrt(np.einsum("ij,ij->i", b, b, dtype=np.float64))
    matrix = hsic / (na[:, None] * nb[None, :])
    end = time.perf_counter()
    print(json.dumps({
        "matrix": matrix.tolist(),
        "n": int(xs[0].shape[0]),
        "numpy": np.__version__,
        "seconds": {"total": end - START, "load": t1 - t0, "grams": t2 - t1, "hsic": end - t2},
    }))


if __name__ == "__main__":
    main()
