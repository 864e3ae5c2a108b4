#!/usr/bin/python3
"""Sanity checks of the shipped zoo with linear CKA (not part of the app).

Runs the *exported* ONNX graphs (tiny torch-backed interpreter, no onnxruntime needed) on
the first N probe images, takes every Relu output (one per conv layer), and reports:
  * depth: layer x layer linear-CKA self-similarity per depth; mean off-diagonal CKA among
    the last half of the layers (grows with depth when "block structure" appears);
  * seeds: for each ordered pair of seed models, the fraction of layers whose most similar
    layer in the other net is the corresponding one (Kornblith et al. 2019, Table 2 idea).

    /usr/bin/python3 models/check_zoo.py [--n 2000] [--write] [--png DIR]
--write stores the numbers in zoo.json under "checks"; --png writes CKA heatmaps.
"""
import argparse
import json
import os

# Must be set before torch (libgomp) loads: with busy-waiting OpenMP threads a training step
# was ~10x slower whenever other processes were using the 2 cores. Does not change the numbers.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F
from onnx import load, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def relu_outputs(path, x):
    """Run the ONNX graph with torch ops; return [(relu node name, [n, features] tensor)]."""
    m = load(path)
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    env[m.graph.input[0].name] = x
    acts = []
    for node in m.graph.node:
        a = {at.name: at for at in node.attribute}
        i = [env[k] for k in node.input if k]
        op = node.op_type
        if op == "Conv":
            y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, padding=list(a["pads"].ints)[0])
        elif op == "Relu":
            y = F.relu(i[0])
            acts.append((node.name, y.reshape(len(y), -1)))
        elif op == "Identity":
            y = i[0]
        elif op == "MaxPool":
            y = F.max_pool2d(i[0], 2)
        elif op == "GlobalAveragePool":
            y = i[0].mean((2, 3), keepdim=True)
        elif op == "Flatten":
            y = i[0].reshape(len(i[0]), -1)
        elif op == "Gemm":
            y = F.linear(i[0], i[1], i[2])
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y
    return acts


def centered_gram(feat):
    """H (X X^T) H in float64.  X X^T via a 1x1 convolution (oneDNN) because this torch/numpy
    build links the slow reference BLAS; same result as feat @ feat.T."""
    n, d = feat.shape
    g = F.conv2d(feat.T.contiguous().reshape(1, d, 1, n), feat.reshape(n, d, 1, 1)).reshape(n, n)
    g = g.double()
    g = g - g.mean(0, keepdim=True)
    return g - g.mean(1, keepdim=True)


def cka_matrix(ga, gb):
    """Linear CKA = <Kc, Lc>_F / (||Kc||_F ||Lc||_F) for every pair of centred Grams."""
    na = [torch.linalg.norm(g) for g in ga]
    nb = [torch.linalg.norm(g) for g in gb]
    return np.array([[float((a * b).sum() / (na[i] * nb[j])) for j, b in enumerate(gb)]
                     for i, a in enumerate(ga)])


def largest_block(c, thr):
    """Longest run of consecutive layers [first, last] (1-based) whose pairwise CKA all >= thr."""
    best = [1, 1]
    for i in range(len(c)):
        for j in range(i, len(c)):
            if c[i:j + 1, i:j + 1].min() < thr:
                break
            if j - i > best[1] - best[0]:
                best = [i + 1, j + 1]
    return best


def save_png(mat, path):
    from PIL import Image
    cell = max(8, 240 // len(mat))
    v = np.clip((mat - 0.5) / 0.5, 0, 1)
    # white (CKA <= 0.5) -> dark blue (1); layer 1 at top-left, like the paper's figures
    rgb = np.stack([255 * (1 - v), 255 * (1 - 0.7 * v), 255 - 100 * v], -1).astype(np.uint8)
    Image.fromarray(np.kron(rgb, np.ones((cell, cell, 1), np.uint8))).save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--zoo", default=os.path.join(HERE, "zoo.json"))
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--png", default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    root = os.path.dirname(os.path.abspath(args.zoo))
    zoo = json.load(open(args.zoo))
    nz = zoo["normalization"]
    imgs = np.load(os.path.join(root, zoo["probe"]["images"]))[:args.n]
    x = (torch.from_numpy(imgs.astype(np.float32)).unsqueeze(1) * np.float32(nz["scale"])
         - np.float32(nz["mean"])) / np.float32(nz["std"])
    models = {e["name"]: e for e in zoo["models"]}
    grams = {}

    def get(name):
        if name not in grams:
            with torch.no_grad():
                grams[name] = [centered_gram(f) for _, f in relu_outputs(os.path.join(root, models[name]["file"]), x)]
        return grams[name]

    checks = {"n": args.n, "layers": "Relu outputs (one per conv layer)", "cka": "linear", "depth": {}, "seeds": {}}
    for d in (1, 2, 4, 8):
        name = "plain-d%d-s0" % d
        if name not in models:
            continue
        c = cka_matrix(get(name), get(name))
        L = len(c)
        h = L - (L + 1) // 2  # last ceil(L/2) layers
        sub = c[h:, h:]
        off = sub[~np.eye(len(sub), dtype=bool)]
        checks["depth"][name] = {"layers": L, "lastHalfMeanOffDiagCKA": round(float(off.mean()), 4),
                                 "allMeanOffDiagCKA": round(float(c[~np.eye(L, dtype=bool)].mean()), 4),
                                 "largestBlockMinCKA0.8": largest_block(c, 0.8),
                                 "largestBlockMinCKA0.9": largest_block(c, 0.9),
                                 "adjacentCKA": [round(float(c[i, i + 1]), 3) for i in range(L - 1)]}
        print("%s: %d layers, mean off-diag CKA last half %.3f, all %.3f" % (
            name, L, off.mean(), c[~np.eye(L, dtype=bool)].mean()))
        print("\n".join(" ".join("%3d" % round(100 * v) for v in row) for row in c))
        if args.png:
            os.makedirs(args.png, exist_ok=True)
            save_png(c, os.path.join(args.png, "cka-%s.png" % name))
        if d > 1:
            grams.pop(name)

    seeds = sorted(n for n in models if n.startswith("plain-d1-s"))
    hits, total, diag = 0, 0, []
    for a in seeds:
        for b in seeds:
            if a == b:
                continue
            c = cka_matrix(get(a), get(b))
            hits += int((c.argmax(1) == np.arange(len(c))).sum())
            total += len(c)
            diag.extend(np.diag(c).tolist())
    if total:
        checks["seeds"] = {"models": seeds, "orderedPairs": len(seeds) * (len(seeds) - 1),
                           "fractionCorrespondingMostSimilar": round(hits / total, 4),
                           "chance": round(1 / len(get(seeds[0])), 4),
                           "meanCKACorrespondingLayers": round(float(np.mean(diag)), 4)}
        print("seeds: %d/%d layers most similar to the corresponding layer (%.3f, chance %.3f); "
              "mean CKA of corresponding layers %.3f" % (hits, total, hits / total, 1 / len(get(seeds[0])), np.mean(diag)))
    if args.write:
        zoo["checks"] = checks
        with open(args.zoo, "w") as f:
            json.dump(zoo, f, indent=2)
            f.write("\n")
    print(json.dumps(checks))


if __name__ == "__main__":
    main()
