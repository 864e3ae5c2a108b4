#!/usr/bin/python3
"""Train and export the zoo's small Vision Transformer (Fashion-MNIST), `vit-s0`.

One reproducible command (CPU only, no downloads), beside models/train_zoo.py:

    /usr/bin/python3 models/train_vit.py                  # -> models/zoo/vit-s0.onnx + zoo.json
    /usr/bin/python3 models/train_vit.py --out /tmp/zoo   # write elsewhere (zoo.json beside DIR)

Same input and output as the plain CNNs: `input` float32 [batch,1,28,28] (NCHW, the zoo's
normalisation (x/255 - mean)/std), `logits` float32 [batch,10].  Architecture (ViT, Dosovitskiy
et al. 2021, pre-norm):

    embed:   Conv 7x7 stride 7 -> 4x4 = 16 patch tokens of dim 64, a learned CLS token in front,
             learned position embeddings (17 x 64) added          -> /embed/Add_output_0 [b,17,64]
    blocks.0..3:  x = x + attn(norm1(x));  x = x + mlp(norm2(x))   -> /blocks.K/Add_1_output_0
             attn: qkv Linear(64, 192), 4 heads of 16, written by hand: q, k, v are reshaped to
             [b*heads, 17, 16], so the attention probabilities are [b*heads, 17, 17]
             (/blocks.K/attn/softmax/Softmax_output_0: first axis is batch x 4, not batch)
             mlp: fc1 Linear(64,128) -> GELU (erf) -> fc2 Linear(128,64)
    norm:    final LayerNorm                                       -> /norm/LayerNormalization_output_0
    pool:    the CLS token, x[:, 0]                                -> /pool/Gather_output_0 [b,64]
    head:    Linear(64, 10)                                        -> logits

Training: all 60 000 training images, random horizontal flips, AdamW (weight decay 0.05 on
matrices), batch 128, one-cycle learning rate (peak 2e-3, 10 % warm-up, cosine), cross-entropy.

Speed: Debian's torch links the reference BLAS (BLAS_INFO=generic), where a Linear on [2176,64]
runs at ~3 GFLOP/s; oneDNN convolutions are ~4x faster.  So in train mode the Linear layers and
the two attention products are computed as (grouped) 1x1 convolutions -- the same arithmetic,
different summation order -- and in eval mode (evaluation, hooks, ONNX export) as plain
MatMul/bmm.  The script checks that both paths agree (max |d logits| printed).

Determinism as models/train_zoo.py: torch.manual_seed / numpy seed, a seeded torch.Generator for
the data order and flips, torch.use_deterministic_algorithms(True), torch.set_num_threads(2).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train_zoo.py: busy-waiting OpenMP was ~10x slower under load

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_zoo as tz  # noqa: E402  (data, normalisation, determinism, sha256: shared with the CNNs)
import onnx_torch_eval  # noqa: E402

NAME = "vit-s0"
SEED = 0
EPOCHS = 10
BATCH = 128
PEAK_LR = 2e-3
WEIGHT_DECAY = 0.05
ARCH = dict(patch=7, dim=64, depth=4, heads=4, mlp=128)
OPSET = 17


# ----------------------------------------------------------------------------- model
class Linear(nn.Linear):
    """nn.Linear; in train mode computed as a 1x1 convolution (oneDNN) -- see the module docstring."""

    def forward(self, x):
        if self.training:
            s = x.shape
            y = F.conv2d(x.reshape(-1, s[-1], 1, 1), self.weight[:, :, None, None], self.bias)
            return y.reshape(*s[:-1], self.out_features)
        return F.linear(x, self.weight, self.bias)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = Linear(dim, 3 * dim)
        self.softmax = nn.Softmax(dim=-1)
        self.proj = Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        hd = d // h
        # [b, t, 3*d] -> [3, b*h, t, hd]
        qkv = self.qkv(x).reshape(b, t, 3, h, hd).permute(2, 0, 3, 1, 4).reshape(3, b * h, t, hd)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        if self.training:
            bh = b * h
            # scores^T[g, j, i] = sum_d k[g, j, d] q[g, i, d]: one grouped 1-D convolution
            s = F.conv1d(q.transpose(1, 2).reshape(1, bh * hd, t), k.reshape(bh * t, hd, 1), groups=bh)
            att = self.softmax(s.view(bh, t, t).transpose(1, 2))
            o = F.conv1d(att.transpose(1, 2).reshape(1, bh * t, t), v.transpose(1, 2).reshape(bh * hd, t, 1),
                         groups=bh).view(bh, hd, t).transpose(1, 2)
        else:
            att = self.softmax(torch.bmm(q, k.transpose(1, 2)))  # [b*h, t, t]
            o = torch.bmm(att, v)  # [b*h, t, hd]
        o = o.reshape(b, h, t, hd).transpose(1, 2).reshape(b, t, d)
        return self.proj(o)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))  # /blocks.K/Add
        return x + self.mlp(self.norm2(x))  # /blocks.K/Add_1: the block's output


class Embed(nn.Module):
    def __init__(self, dim, patch, image=28):
        super().__init__()
        self.proj = nn.Conv2d(1, dim, patch, stride=patch)
        n = (image // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)  # [b, 16, dim]
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed


class ClsPool(nn.Module):
    def forward(self, x):
        return x[:, 0]


class ViT(nn.Module):
    def __init__(self, patch=7, dim=64, depth=4, heads=4, mlp=128, num_classes=10):
        super().__init__()
        self.embed = Embed(dim, patch)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.pool = ClsPool()
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.embed(x)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.pool(self.norm(x)))


# ----------------------------------------------------------------------------- train
def train(data, mean, std, epochs, log, train_n=None):
    tz.set_determinism(SEED)
    idx = tz.train_subset_indices(train_n)
    xtr = tz.to_tensor(data["train_x"][idx], mean, std)
    ytr = torch.from_numpy(data["train_y"][idx].astype(np.int64))
    model = ViT(**ARCH)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n not in ("embed.pos_embed", "embed.cls_token")]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and n not in ("embed.pos_embed", "embed.cls_token"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": other, "weight_decay": 0.0}],
                            lr=PEAK_LR)
    steps_per_epoch = (len(xtr) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=PEAK_LR, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                                pct_start=0.1)
    gen = torch.Generator().manual_seed(1000 + SEED)
    t0, c0 = time.time(), time.process_time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(xtr), BATCH):
            b = perm[i:i + BATCH]
            xb = xtr[b]
            flip = torch.rand(len(b), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), ytr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(b)
            n += len(b)
        log("%s epoch %d/%d loss %.4f  %.0fs" % (NAME, ep + 1, epochs, tot / n, time.time() - t0))
    return model.eval(), time.time() - t0, time.process_time() - c0, len(xtr)


# ----------------------------------------------------------------------------- export
def layer_names(depth):
    """The ONNX tensors of interest (checked against the exported graph)."""
    return {
        "embedding": "/embed/Add_output_0",
        "blocks": ["/blocks.%d/Add_1_output_0" % k for k in range(depth)],
        "attentionResidual": ["/blocks.%d/Add_output_0" % k for k in range(depth)],
        "attentionSoftmax": ["/blocks.%d/attn/softmax/Softmax_output_0" % k for k in range(depth)],
        "mlpGelu": ["/blocks.%d/mlp/act/Mul_1_output_0" % k for k in range(depth)],
        "norm": "/norm/LayerNormalization_output_0",
        "pool": "/pool/Gather_output_0",
        "logits": "logits",
    }


def export_onnx(model, path):
    import onnx
    torch.onnx.export(
        model.eval(), torch.zeros(2, 1, 28, 28), path, opset_version=OPSET, input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    # Readable initializer names: the exporter stores each Linear's weight transposed for MatMul as
    # "onnx::MatMul_459"; rename it after its node, e.g. "blocks.0.attn.qkv.weight.T" ([in, out]).
    inits = {t.name: t for t in m.graph.initializer}
    rename = {}
    for node in m.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits and node.input[1].startswith("onnx::"):
            rename[node.input[1]] = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".") + ".weight.T"
    for old, new in rename.items():
        inits[old].name = new
    for node in m.graph.node:
        for k, name in enumerate(node.input):
            if name in rename:
                node.input[k] = rename[name]
    onnx.save(m, path)
    onnx.checker.check_model(m, full_check=True)
    return m


def hooked(model, x):
    """Eval-mode forward with hooks: {onnx tensor name: torch tensor} for the layers of interest."""
    names = layer_names(len(model.blocks))
    mods = {"embedding": [model.embed], "blocks": list(model.blocks), "norm": [model.norm], "pool": [model.pool],
            "attentionSoftmax": [b.attn.softmax for b in model.blocks]}
    got, handles = {}, []
    for key, ms in mods.items():
        tensors = names[key] if isinstance(names[key], list) else [names[key]]
        for mod, tensor in zip(ms, tensors):
            handles.append(mod.register_forward_hook(lambda _m, _i, out, tensor=tensor: got.__setitem__(tensor, out.detach().clone())))
    with torch.no_grad():
        got["logits"] = model(x)
    for h in handles:
        h.remove()
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "zoo"), help="directory for the .onnx file")
    ap.add_argument("--manifest", default=None, help="zoo.json path (default: <out>/../zoo.json)")
    ap.add_argument("--epochs", type=int, default=EPOCHS, help="epochs (default %d; others for smoke tests only)" % EPOCHS)
    ap.add_argument("--train-n", type=int, default=None, help="train on a subset (smoke tests only)")
    ap.add_argument("--threads", type=int, default=tz.THREADS, help="torch threads (default %d; other values change the numbers)" % tz.THREADS)
    args = ap.parse_args()
    tz.THREADS = args.threads
    torch.set_num_threads(args.threads)
    out = os.path.abspath(args.out)
    root = os.path.dirname(out)
    manifest = os.path.abspath(args.manifest or os.path.join(root, "zoo.json"))
    os.makedirs(out, exist_ok=True)

    def log(msg):
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    data = tz.load_fashion_mnist()
    mean, std = tz.norm_constants(data["train_x"])
    log("normalisation mean=%s std=%s" % (mean, std))
    model, train_s, cpu_s, n_train = train(data, mean, std, args.epochs, log, args.train_n)

    xte = tz.to_tensor(data["test_x"], mean, std)
    yte = torch.from_numpy(data["test_y"].astype(np.int64))
    acc = tz.evaluate(model, xte, yte)  # eval mode: the exported arithmetic (MatMul / bmm)
    log("%s test accuracy %.4f (train %.1fs wall, %.1fs cpu)" % (NAME, acc, train_s, cpu_s))

    probe = xte[:64]
    with torch.no_grad():
        fast_vs_plain = float((model.train()(probe) - model.eval()(probe)).abs().max())
    model.eval()
    log("train-mode (conv) vs eval-mode (matmul) logits: max |d| = %.2e" % fast_vs_plain)
    assert fast_vs_plain < 1e-3

    path = os.path.join(out, NAME + ".onnx")
    m = export_onnx(model, path)
    env = onnx_torch_eval.run(m, {"input": probe})
    ref = hooked(model, probe)
    names = layer_names(ARCH["depth"])
    graph_tensors = {o for n in m.graph.node for o in n.output}
    flat = [t for v in names.values() for t in (v if isinstance(v, list) else [v])]
    missing = [t for t in flat if t not in graph_tensors]
    assert not missing, missing
    errs = {t: onnx_torch_eval.max_abs_diff(env[t], ref[t]) for t in ref}
    err = errs["logits"]
    log("%s exported %s (%d bytes); max |onnx - torch| logits %.2e, any hooked layer %.2e" % (
        NAME, path, os.path.getsize(path), err, max(errs.values())))
    assert max(errs.values()) < 1e-3, errs
    shapes64 = {t: list(env[t].shape) for t in flat}
    assert shapes64[names["attentionSoftmax"][0]] == [64 * ARCH["heads"], 17, 17]

    def sym(shape):
        # runtime shape for batch n, written symbolically: 64 -> "batch", 256 -> "batch*4"
        return ["batch" if (k == 0 and s == 64) else "batch*%d" % (s // 64) if k == 0 and s % 64 == 0 and s > 64 else s
                for k, s in enumerate(shape)]

    layers = {}
    for key, v in names.items():
        if isinstance(v, list):
            layers[key] = [{"tensor": t, "shape": sym(shapes64[t])} for t in v]
        else:
            layers[key] = {"tensor": v, "shape": sym(shapes64[v])}

    zoo = {"version": 1, "models": []}
    if os.path.exists(manifest):
        with open(manifest) as f:
            zoo = json.load(f)
    entry = {
        "name": NAME, "file": os.path.relpath(path, root), "family": "vit", "architecture": "vision-transformer",
        "seed": SEED, "patch": ARCH["patch"], "tokens": (28 // ARCH["patch"]) ** 2 + 1, "dim": ARCH["dim"],
        "depth": ARCH["depth"], "heads": ARCH["heads"], "mlp": ARCH["mlp"], "norm": "pre-norm LayerNorm",
        "activation": "GELU (erf)",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "epochs": args.epochs, "trainExamples": n_train, "batchSize": BATCH, "augment": "random horizontal flips",
        "optimizer": "AdamW (weight decay %g on matrices), one-cycle LR peak %g, 10%% warm-up, cosine" % (WEIGHT_DECAY, PEAK_LR),
        "testAccuracy": round(acc, 4), "testExamples": 10000,
        "sha256": tz.sha256(path), "bytes": os.path.getsize(path), "opset": OPSET,
        "input": {"name": "input", "dtype": "float32", "shape": ["batch", 1, 28, 28], "layout": "NCHW",
                  "normalization": "same as the plain CNNs (zoo.json normalization)"},
        "output": {"name": "logits", "dtype": "float32", "shape": ["batch", 10]},
        "onnxVsTorchMaxAbsErr": err,
        "command": "/usr/bin/python3 models/train_vit.py",
        "trainSeconds": round(train_s, 1), "trainCpuSeconds": round(cpu_s, 1),
        "layers": layers,
        "notes": ("Shapes are those of the exported graph at run time for a batch of b examples. The attention "
                  "probabilities are [b*4, 17, 17] (batch and heads merged on the first axis, example-major: rows "
                  "4i..4i+3 belong to example i); the qkv tensor /blocks.K/attn/Reshape_1_output_0 is [3, b*4, 17, 16] "
                  "(first axis is q/k/v, not batch). Token 0 is the CLS token, tokens 1..16 the 7x7 patches in "
                  "row-major order. MatMul weights are stored transposed ([in, out]) as <module>.weight.T."),
    }
    # Kept out of "models": the app, its presets and tests read "models" as the plain-CNN zoo
    # (reluNodes, convLayers/widths, the exact list of names).
    zoo["transformers"] = [e for e in zoo.get("transformers", []) if e.get("name") != NAME] + [entry]
    with open(manifest, "w") as f:
        json.dump(zoo, f, indent=2)
        f.write("\n")
    log("wrote %s (transformers: %s)" % (manifest, NAME))


if __name__ == "__main__":
    main()
