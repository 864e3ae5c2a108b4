#!/usr/bin/python3
"""Train and export the CKA Workbench example model zoo (Fashion-MNIST plain CNNs).

One reproducible command regenerates everything (CPU only, no downloads):

    /usr/bin/python3 models/train_zoo.py                 # all models + probe + zoo.json
    /usr/bin/python3 models/train_zoo.py --only plain-d1-s3
    /usr/bin/python3 models/train_zoo.py --out /tmp/zoo  # write elsewhere

Needs Debian's python3-torch, python3-onnx, python3-numpy and dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist/*.gz).  Architecture, after the plain CNNs of
Kornblith et al. 2019 (Similarity of Neural Network Representations Revisited):

    3 stages; stage s = k x (conv3x3 -> BatchNorm -> ReLU) with WIDTHS[s] channels,
    2x2 max-pool between stages, global average pool, linear head -> 10 logits.
    k = depth multiplier (1, 2, 4, 8) => 3k conv layers.  No residual connections.

Determinism: torch.manual_seed / numpy seed per model, a seeded torch.Generator for the
data order, torch.use_deterministic_algorithms(True), torch.set_num_threads(THREADS)
(=2, fixed; results are bit-reproducible for a given thread count and torch build).
"""
import argparse
import gzip
import hashlib
import json
import os
import sys
import time

# Must be set before torch (libgomp) loads: with busy-waiting OpenMP threads a training step
# was ~10x slower whenever other processes were using the 2 cores. Does not change the numbers.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
THREADS = 2
WIDTHS = (16, 32, 64)
OPSET = 17
PROBE_N = 5000
BATCH = 128

# name -> training recipe.  "train_n": number of training examples used (the first N
# of a fixed seeded permutation of the 60k training set; None = all 60k).
# Seeds family: full data.  Depth family (d2/d4/d8): see DEPTH_TRAIN_N below and README.
SEED_EPOCHS = 8
DEPTH_TRAIN_N = 2000
DEPTH_EPOCHS = 10
DEPTH_AUGMENT = False


def recipes():
    r = {}
    for s in range(5):
        r["plain-d1-s%d" % s] = dict(depth=1, seed=s, epochs=SEED_EPOCHS, train_n=None, augment=True)
    for d in (2, 4, 8):
        r["plain-d%d-s0" % d] = dict(depth=d, seed=0, epochs=DEPTH_EPOCHS, train_n=DEPTH_TRAIN_N,
                                         augment=DEPTH_AUGMENT)
    return r


# ----------------------------------------------------------------------------- data
def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims).copy()


def load_fashion_mnist():
    d = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        d[split + "_x"] = read_idx(os.path.join(DATA_DIR, prefix + "-images-idx3-ubyte.gz"))
        d[split + "_y"] = read_idx(os.path.join(DATA_DIR, prefix + "-labels-idx1-ubyte.gz"))
    assert d["train_x"].shape == (60000, 28, 28) and d["test_x"].shape == (10000, 28, 28)
    return d


def norm_constants(train_x):
    """Mean/std of the training pixels after scaling by 1/255 (float64, then rounded)."""
    x = train_x.astype(np.float64) / 255.0
    return round(float(x.mean()), 6), round(float(x.std()), 6)


def to_tensor(x_uint8, mean, std):
    # Exactly the app's normalisation: (x * (1/255) - mean) / std, NCHW float32.
    x = torch.from_numpy(x_uint8.astype(np.float32)).unsqueeze(1)
    return (x * np.float32(1.0 / 255.0) - np.float32(mean)) / np.float32(std)


# ----------------------------------------------------------------------------- model
class ConvBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Stage(nn.Module):
    """k conv blocks named block0..block{k-1} (so ONNX nodes read /stageS/blockB/conv/Conv)."""

    def __init__(self, cin, cout, k):
        super().__init__()
        self.k = k
        for b in range(k):
            setattr(self, "block%d" % b, ConvBlock(cin if b == 0 else cout, cout))

    def forward(self, x):
        for b in range(self.k):
            x = getattr(self, "block%d" % b)(x)
        return x


class PlainCNN(nn.Module):
    def __init__(self, depth=1, widths=WIDTHS, num_classes=10):
        super().__init__()
        c1, c2, c3 = widths
        self.stage1 = Stage(1, c1, depth)
        self.pool1 = nn.MaxPool2d(2)
        self.stage2 = Stage(c1, c2, depth)
        self.pool2 = nn.MaxPool2d(2)
        self.stage3 = Stage(c2, c3, depth)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(c3, num_classes)

    def forward(self, x):
        x = self.pool1(self.stage1(x))
        x = self.pool2(self.stage2(x))
        x = self.stage3(x)
        return self.head(self.flatten(self.gap(x)))

    def relus(self):
        """(name, module) of every ReLU in forward order (the layers the CKA check uses)."""
        return [(n, m) for n, m in self.named_modules() if isinstance(m, nn.ReLU)]


# ----------------------------------------------------------------------------- train
def set_determinism(seed):
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    np.random.seed(seed)


def train_subset_indices(train_n, n_total=60000):
    """First train_n of a fixed permutation (seed 12345), so subsets are nested & stable."""
    if train_n is None or train_n >= n_total:
        return np.arange(n_total)
    perm = np.random.RandomState(12345).permutation(n_total)
    return np.sort(perm[:train_n])


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def train_one(name, rec, data, mean, std, log=print):
    set_determinism(rec["seed"])
    idx = train_subset_indices(rec["train_n"])
    xtr = to_tensor(data["train_x"][idx], mean, std)
    ytr = torch.from_numpy(data["train_y"][idx].astype(np.int64))
    xte = to_tensor(data["test_x"], mean, std)
    yte = torch.from_numpy(data["test_y"].astype(np.int64))

    model = PlainCNN(rec["depth"])
    # channels_last makes oneDNN convolutions ~2x faster on CPU; numerics stay deterministic.
    cl = torch.channels_last
    model = model.to(memory_format=cl)
    xtr = xtr.contiguous(memory_format=cl)
    xte = xte.contiguous(memory_format=cl)
    epochs = rec["epochs"]
    steps_per_epoch = (len(xtr) + BATCH - 1) // BATCH
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, epochs=epochs, steps_per_epoch=steps_per_epoch, pct_start=0.2)
    gen = torch.Generator().manual_seed(1000 + rec["seed"])
    t0, c0 = time.time(), time.process_time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(xtr), BATCH):
            b = perm[i:i + BATCH]
            xb = xtr[b].contiguous(memory_format=cl)
            if rec["augment"]:
                # light augmentation: random horizontal flip (seeded generator => deterministic)
                flip = torch.rand(len(b), generator=gen) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb).contiguous(memory_format=cl)
            loss = F.cross_entropy(model(xb), ytr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(b)
            n += len(b)
        log("%s epoch %d/%d loss %.4f  %.0fs" % (name, ep + 1, epochs, tot / n, time.time() - t0))
    train_s, cpu_s = time.time() - t0, time.process_time() - c0
    acc = evaluate(model, xte, yte)
    log("%s test accuracy %.4f (train %.1fs wall, %.1fs cpu)" % (name, acc, train_s, cpu_s))
    model = model.to(memory_format=torch.contiguous_format).eval()
    return model, acc, train_s, cpu_s, len(xtr)


# ----------------------------------------------------------------------------- export
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(model, path):
    import onnx
    model.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    torch.onnx.export(
        model, dummy, path, opset_version=OPSET, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    # Readable initializer names: the exporter calls the BN-folded Conv weights "onnx::Conv_36";
    # rename them after their node, e.g. "stage1.block0.conv.weight" / ".bias".
    inits = {t.name: t for t in m.graph.initializer}
    rename = {}
    for node in m.graph.node:
        if node.op_type == "Conv":
            base = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
            for k, suffix in ((1, "weight"), (2, "bias")):
                if k < len(node.input) and node.input[k] in inits and node.input[k] not in rename:
                    rename[node.input[k]] = "%s.%s" % (base, suffix)
    for old, new in rename.items():
        inits[old].name = new
    for node in m.graph.node:
        for k, name in enumerate(node.input):
            if name in rename:
                node.input[k] = rename[name]
    onnx.save(m, path)
    onnx.checker.check_model(m, full_check=True)
    ops = [n.op_type for n in m.graph.node]
    assert "BatchNormalization" not in ops, "expected BN folded into Conv"
    names = [n.name for n in m.graph.node]
    assert "/stage1/block0/conv/Conv" in names and "/head/Gemm" in names, names
    return m


def onnx_reference_check(m, model, x):
    """Compare the exported graph with torch.  Uses onnx.reference when present (onnx>=1.13),
    otherwise a tiny numpy interpreter for the ops this zoo emits."""
    with torch.no_grad():
        ref = model(x).numpy()
    try:
        from onnx.reference import ReferenceEvaluator  # noqa
        out = ReferenceEvaluator(m).run(None, {"input": x.numpy()})[0]
        how = "onnx.reference"
    except ImportError:
        out = numpy_onnx_run(m, x.numpy())
        how = "numpy interpreter"
    err = float(np.abs(out - ref).max())
    return err, how


def numpy_onnx_run(m, x):
    from onnx import numpy_helper
    env = {t.name: numpy_helper.to_array(t).copy() for t in m.graph.initializer}
    env[m.graph.input[0].name] = x
    for node in m.graph.node:
        a = {at.name: at for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            w, b = ins[1], ins[2] if len(ins) > 2 else None
            p = list(a["pads"].ints)[0]
            xt = torch.from_numpy(ins[0])
            y = F.conv2d(xt, torch.from_numpy(w), None if b is None else torch.from_numpy(b), padding=p).numpy()
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Identity":
            y = ins[0]
        elif op == "MaxPool":
            n, c, h, w_ = ins[0].shape
            y = ins[0].reshape(n, c, h // 2, 2, w_ // 2, 2).max(axis=(3, 5))
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Gemm":
            y = ins[0] @ (ins[1].T if a.get("transB") and a["transB"].i else ins[1]) + ins[2]
        else:
            raise NotImplementedError(op)
        env[node.output[0]] = y.astype(np.float32)
    return env[m.graph.output[0].name]


# ----------------------------------------------------------------------------- main
KEY_ORDER = ("version", "command", "normalization", "probe", "models", "checks", "environment", "notes")


def ordered(zoo):
    zoo["command"] = "/usr/bin/python3 models/train_zoo.py"
    return {k: zoo[k] for k in sorted(zoo, key=lambda k: KEY_ORDER.index(k) if k in KEY_ORDER else 99)}


def write_probe(out_root, data):
    pdir = os.path.join(out_root, "probe")
    os.makedirs(pdir, exist_ok=True)
    imgs = np.ascontiguousarray(data["test_x"][:PROBE_N].astype(np.uint8))
    labs = np.ascontiguousarray(data["test_y"][:PROBE_N].astype(np.uint8))
    ip = os.path.join(pdir, "fashion-mnist-test-%d-images.npy" % PROBE_N)
    lp = os.path.join(pdir, "fashion-mnist-test-%d-labels.npy" % PROBE_N)
    np.save(ip, imgs, allow_pickle=False)
    np.save(lp, labs, allow_pickle=False)
    rel = lambda p: os.path.relpath(p, out_root)
    return {"images": rel(ip), "labels": rel(lp), "n": PROBE_N, "source": "t10k, first %d" % PROBE_N,
            "dtype": "uint8", "imagesShape": [PROBE_N, 28, 28], "labelsShape": [PROBE_N],
            "sha256": {rel(ip): sha256(ip), rel(lp): sha256(lp)}}


NOTES = (
    "Fashion-MNIST plain CNNs after Kornblith et al. 2019. Input 'input' float32 [batch,1,28,28] "
    "(dynamic batch), output 'logits' float32 [batch,10]. Normalise uint8 pixels as (x*scale-mean)/std. "
    "Exported in eval mode with torch.onnx.export (torch 1.13, opset 17, do_constant_folding): BatchNorm "
    "is folded into the preceding Conv (Conv now has a bias; there are no BatchNormalization nodes). "
    "Node names: /stageS/blockB/conv/Conv and /stageS/blockB/relu/Relu (S=1..3, B=0..depth-1), "
    "/pool1/MaxPool, /pool2/MaxPool, /gap/GlobalAveragePool, /flatten/Flatten, /head/Gemm. "
    "Node output tensors are named <node>_output_0 (e.g. /stage2/block1/relu/Relu_output_0). "
    "Initializers: stageS.blockB.conv.weight/.bias (BN folded), head.weight, head.bias. "
    "Representations for CKA: the Relu outputs (one per conv layer, 3*depth of them), listed per model in reluNodes. "
    "Training: SGD (nesterov, momentum 0.9, weight decay 5e-4), batch 128, one-cycle LR (max 0.1), "
    "cross-entropy, torch.set_num_threads(2), torch.use_deterministic_algorithms(True), seeded init and data order. "
    "Seeds family (plain-d1-s0..s4): all 60000 training images, 8 epochs, random horizontal flips. "
    "Depth family (plain-d2/d4/d8-s0): the same design trained on a fixed 2000-image subset of the training set "
    "(first 2000 of a seed-12345 permutation), 10 epochs (160 SGD steps), no augmentation: a deep plain net that is "
    "large relative to its data and briefly trained. Under this recipe the 8x net shows the paper's block structure "
    "(a large block of high linear CKA spanning most of its later layers) and lower accuracy than the 2x/4x nets, as in "
    "Kornblith et al. 2019 (Fig. 6). Longer training weakened it: d8 on 2000 images x 20 epochs (83.9%) gave a weaker "
    "block, and 10000 x 20 with flips, 2000 x 80, 500 x 80 and 10000 x 4 gave CKA that falls off smoothly over the "
    "later layers (see README). "
    "The depth-1x member is plain-d1-s0 (full data, 8 epochs), so it differs from d2/d4/d8 in training as well as "
    "depth. testAccuracy is on the full 10000-image test set, computed with "
    "the torch model; the probe (first 5000 test images) overlaps that test set and was never trained on. "
)


def main():
    global THREADS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="model name (repeatable), e.g. plain-d1-s0")
    ap.add_argument("--out", default=os.path.join(HERE, "zoo"), help="directory for .onnx files")
    ap.add_argument("--manifest", default=None, help="zoo.json path (default: <out>/../zoo.json)")
    ap.add_argument("--epochs", type=int, default=None, help="override epochs (smoke tests only)")
    ap.add_argument("--train-n", type=int, default=None, help="override train examples (smoke tests only)")
    ap.add_argument("--augment", type=int, choices=(0, 1), default=None, help="override flip augmentation (experiments only)")
    ap.add_argument("--threads", type=int, default=THREADS, help="torch threads (default %d; other values change the numbers)" % THREADS)
    args = ap.parse_args()
    THREADS = args.threads

    out = os.path.abspath(args.out)
    root = os.path.dirname(out)
    manifest = os.path.abspath(args.manifest or os.path.join(root, "zoo.json"))
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(THREADS)

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    data = load_fashion_mnist()
    mean, std = norm_constants(data["train_x"])
    log("normalisation mean=%s std=%s" % (mean, std))

    zoo = {"version": 1, "models": []}
    if os.path.exists(manifest):
        with open(manifest) as f:
            zoo = json.load(f)
    zoo["version"] = 1
    zoo["normalization"] = {"scale": 1.0 / 255.0, "mean": mean, "std": std, "layout": "NCHW",
                            "input": "input", "output": "logits", "shape": [1, 28, 28], "dtype": "float32"}
    zoo["probe"] = write_probe(root, data)
    zoo["notes"] = NOTES
    if zoo.pop("checks", None) is not None:
        log("dropped stale 'checks' from zoo.json: rerun models/check_zoo.py --write afterwards")
    zoo["environment"] = {"torch": torch.__version__, "numpy": np.__version__, "threads": THREADS,
                          "python": sys.version.split()[0]}

    rs = recipes()
    names = args.only or list(rs)
    for n in names:
        if n not in rs:
            ap.error("unknown model %s (known: %s)" % (n, ", ".join(rs)))
    t_all = time.time()
    for name in names:
        rec = dict(rs[name])
        if args.epochs:
            rec["epochs"] = args.epochs
        if args.train_n:
            rec["train_n"] = args.train_n
        if args.augment is not None:
            rec["augment"] = bool(args.augment)
        model, acc, train_s, cpu_s, n_train = train_one(name, rec, data, mean, std, log)
        path = os.path.join(out, name + ".onnx")
        m = export_onnx(model, path)
        probe_x = to_tensor(data["test_x"][:64], mean, std)
        err, how = onnx_reference_check(m, model, probe_x)
        log("%s exported %s (%d bytes), max |onnx - torch| = %.2e via %s" % (name, path, os.path.getsize(path), err, how))
        assert err < 1e-3, err
        entry = {
            "name": name, "file": os.path.relpath(path, root), "family": "plain",
            "seed": rec["seed"], "depth": rec["depth"], "convLayers": 3 * rec["depth"],
            "widths": list(WIDTHS),
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "epochs": rec["epochs"], "trainExamples": n_train, "batchSize": BATCH,
            "testAccuracy": round(acc, 4), "testExamples": 10000,
            "sha256": sha256(path), "bytes": os.path.getsize(path), "opset": OPSET,
            "onnxVsTorchMaxAbsErr": err,
            "command": "/usr/bin/python3 models/train_zoo.py --only %s" % name,
            "trainSeconds": round(train_s, 1),
            "trainCpuSeconds": round(cpu_s, 1),
            "reluNodes": ["/" + n.replace(".", "/") + "/Relu" for n, _ in model.relus()],
        }
        zoo["models"] = [e for e in zoo["models"] if e.get("name") != name] + [entry]
        order = list(rs)
        zoo["models"].sort(key=lambda e: order.index(e["name"]) if e.get("name") in order else 99)
        with open(manifest, "w") as f:
            json.dump(ordered(zoo), f, indent=2)
            f.write("\n")
    log("done %d model(s) in %.1fs" % (len(names), time.time() - t_all))


if __name__ == "__main__":
    main()
