#!/usr/bin/python3
"""A small torch-backed ONNX interpreter, to check exported graphs without onnxruntime.

Debian's python3-onnx (1.12) has no `onnx.reference` and there is no onnxruntime for Python here,
so models/train_vit.py and the test-fixture generators (test/fixtures/make_text_fixtures.py,
test/fixtures/make_view_fixtures.py) run their exports through this: every node in graph order,
with the op's ONNX semantics written with torch functions (not the torch modules that were
exported), and every intermediate tensor kept, so hooked activations can be compared by name.

    from onnx_torch_eval import run
    env = run(onnx.load(path), {"input": x})     # {tensor name: torch.Tensor}, all tensors

Covers the ops that torch 1.13's exporter emits for the models in this repository (opset 11-17);
anything else raises NotImplementedError naming the op.
"""
import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

_DTYPES = {
    onnx.TensorProto.FLOAT: torch.float32,
    onnx.TensorProto.DOUBLE: torch.float64,
    onnx.TensorProto.FLOAT16: torch.float16,
    onnx.TensorProto.INT64: torch.int64,
    onnx.TensorProto.INT32: torch.int32,
    onnx.TensorProto.INT8: torch.int8,
    onnx.TensorProto.UINT8: torch.uint8,
    onnx.TensorProto.BOOL: torch.bool,
}


def _attrs(node):
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, onnx.TensorProto):
            v = torch.from_numpy(numpy_helper.to_array(v).copy())
        out[a.name] = v
    return out


def _ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def _conv(x, w, b, a):
    nd = x.dim() - 2
    pads = a.get("pads", [0] * (2 * nd))
    strides = a.get("strides", [1] * nd)
    dil = a.get("dilations", [1] * nd)
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotImplementedError("Conv auto_pad=%s" % a["auto_pad"])
    begin, end = pads[:nd], pads[nd:]
    if begin != end:
        x = F.pad(x, [p for i in reversed(range(nd)) for p in (begin[i], end[i])])
        begin = [0] * nd
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    return fn(x, w, b, stride=strides, padding=begin, dilation=dil, groups=a.get("group", 1))


def _pool(x, a, kind):
    nd = x.dim() - 2
    k = a["kernel_shape"]
    pads = a.get("pads", [0] * (2 * nd))
    strides = a.get("strides", [1] * nd)
    if pads[:nd] != pads[nd:]:
        raise NotImplementedError("asymmetric pool pads")
    if kind == "max":
        fn = {1: F.max_pool1d, 2: F.max_pool2d}[nd]
        return fn(x, k, strides, pads[:nd], ceil_mode=bool(a.get("ceil_mode", 0)))
    fn = {1: F.avg_pool1d, 2: F.avg_pool2d}[nd]
    return fn(x, k, strides, pads[:nd], ceil_mode=bool(a.get("ceil_mode", 0)),
              count_include_pad=bool(a.get("count_include_pad", 0)))


def _layer_norm(x, scale, bias, a):
    axis = a.get("axis", -1)
    axis = axis % x.dim()
    shape = x.shape[axis:]
    return F.layer_norm(x, shape, scale, bias, eps=a.get("epsilon", 1e-5))


def _slice(x, starts, ends, axes, steps):
    idx = [slice(None)] * x.dim()
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st != 1:
            raise NotImplementedError("Slice with step %d" % st)
        n = x.shape[ax]
        s = max(0, min(n, s + n if s < 0 else s))
        e = max(0, min(n, e + n if e < 0 else e))
        idx[ax] = slice(s, e)
    return x[tuple(idx)]


def _reduce(x, axes, keep, fn):
    if axes is None or len(axes) == 0:
        axes = list(range(x.dim()))
    return fn(x, dim=tuple(axes), keepdim=bool(keep))


def _matmul(a, b):
    return torch.matmul(a, b)


def run(model, feeds, dtype_check=True):
    """Run `model` (onnx.ModelProto) on `feeds` ({input name: torch.Tensor or numpy array}).
    Returns every tensor the graph computes, by name (inputs and initializers included)."""
    env = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    for k, v in feeds.items():
        env[k] = v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v))
    with torch.no_grad():
        for node in model.graph.node:
            a = _attrs(node)
            i = [env[k] if k else None for k in node.input]
            op = node.op_type
            if op == "Constant":
                y = a["value"]
            elif op == "Identity":
                y = i[0]
            elif op == "Shape":
                y = torch.tensor(list(i[0].shape), dtype=torch.int64)
            elif op == "Gather":
                axis = a.get("axis", 0) % i[0].dim()
                idx = i[1].long()
                idx = torch.where(idx < 0, idx + i[0].shape[axis], idx)
                y = torch.index_select(i[0], axis, idx.reshape(-1)).reshape(
                    tuple(i[0].shape[:axis]) + tuple(idx.shape) + tuple(i[0].shape[axis + 1:]))
            elif op == "Unsqueeze":
                axes = _ints(i[1]) if len(i) > 1 else a["axes"]
                y = i[0]
                rank = y.dim() + len(axes)
                for ax in sorted(ax % rank for ax in axes):
                    y = y.unsqueeze(ax)
            elif op == "Squeeze":
                axes = _ints(i[1]) if len(i) > 1 and i[1] is not None else a.get("axes")
                y = i[0]
                if axes is None:
                    y = y.squeeze()
                else:
                    for ax in sorted((ax % y.dim() for ax in axes), reverse=True):
                        y = y.squeeze(ax)
            elif op == "Concat":
                y = torch.cat(i, a["axis"])
            elif op == "Reshape":
                shape = _ints(i[1])
                shape = [i[0].shape[k] if s == 0 and not a.get("allowzero", 0) else s for k, s in enumerate(shape)]
                y = i[0].reshape(shape)
            elif op == "Flatten":
                ax = a.get("axis", 1) % max(i[0].dim(), 1)
                y = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
            elif op == "Transpose":
                y = i[0].permute(*(a.get("perm") or list(reversed(range(i[0].dim())))))
            elif op == "Expand":
                shape = _ints(i[1])
                y = i[0].expand(torch.broadcast_shapes(i[0].shape, tuple(shape))).clone()
            elif op == "Slice":
                y = _slice(i[0], _ints(i[1]), _ints(i[2]), _ints(i[3]) if len(i) > 3 and i[3] is not None else None,
                           _ints(i[4]) if len(i) > 4 and i[4] is not None else None)
            elif op == "Cast":
                y = i[0].to(_DTYPES[a["to"]])
            elif op == "CastLike":
                y = i[0].to(i[1].dtype)
            elif op == "ConstantOfShape":
                v = a.get("value", torch.zeros(1, dtype=torch.float32))
                y = torch.full(_ints(i[0]), v.reshape(-1)[0].item(), dtype=v.dtype)
            elif op == "Range":
                y = torch.arange(i[0].item(), i[1].item(), i[2].item(), dtype=i[0].dtype)
            elif op in ("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "And", "Or", "Min", "Max"):
                f = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Pow": torch.pow, "Equal": torch.eq,
                     "Less": torch.lt, "Greater": torch.gt, "And": torch.logical_and, "Or": torch.logical_or,
                     "Min": torch.minimum, "Max": torch.maximum}.get(op)
                if op == "Div":
                    y = torch.div(i[0], i[1], rounding_mode="trunc") if not i[0].is_floating_point() else i[0] / i[1]
                else:
                    y = f(i[0], i[1])
            elif op in ("Sqrt", "Erf", "Tanh", "Relu", "Neg", "Exp", "Log", "Not", "Sigmoid", "Abs", "Reciprocal"):
                f = {"Sqrt": torch.sqrt, "Erf": torch.erf, "Tanh": torch.tanh, "Relu": torch.relu, "Neg": torch.neg,
                     "Exp": torch.exp, "Log": torch.log, "Not": torch.logical_not, "Sigmoid": torch.sigmoid,
                     "Abs": torch.abs, "Reciprocal": torch.reciprocal}[op]
                y = f(i[0])
            elif op == "Where":
                y = torch.where(i[0], i[1], i[2])
            elif op == "Clip":
                lo = i[1] if len(i) > 1 and i[1] is not None else a.get("min")
                hi = i[2] if len(i) > 2 and i[2] is not None else a.get("max")
                y = i[0]
                if lo is not None:
                    y = torch.maximum(y, torch.as_tensor(lo, dtype=y.dtype))
                if hi is not None:
                    y = torch.minimum(y, torch.as_tensor(hi, dtype=y.dtype))
            elif op == "MatMul":
                y = _matmul(i[0], i[1])
            elif op == "Gemm":
                A = i[0].T if a.get("transA", 0) else i[0]
                B = i[1].T if a.get("transB", 0) else i[1]
                y = a.get("alpha", 1.0) * (A @ B)
                if len(i) > 2 and i[2] is not None:
                    y = y + a.get("beta", 1.0) * i[2]
            elif op == "Conv":
                y = _conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
            elif op == "MaxPool":
                y = _pool(i[0], a, "max")
            elif op == "AveragePool":
                y = _pool(i[0], a, "avg")
            elif op == "GlobalAveragePool":
                y = i[0].mean(dim=tuple(range(2, i[0].dim())), keepdim=True)
            elif op == "Softmax":
                y = torch.softmax(i[0], a.get("axis", -1))
            elif op == "LayerNormalization":
                y = _layer_norm(i[0], i[1], i[2] if len(i) > 2 else None, a)
            elif op in ("ReduceMean", "ReduceSum", "ReduceMax"):
                axes = _ints(i[1]) if len(i) > 1 and i[1] is not None else a.get("axes")
                fn = {"ReduceMean": torch.mean, "ReduceSum": torch.sum,
                      "ReduceMax": lambda x, dim, keepdim: torch.amax(x, dim=dim, keepdim=keepdim)}[op]
                y = _reduce(i[0], axes, a.get("keepdims", 1), fn)
            else:
                raise NotImplementedError("onnx_torch_eval: op %s (node %s)" % (op, node.name))
            outs = y if isinstance(y, (tuple, list)) else [y]
            for name, val in zip(node.output, outs):
                env[name] = val
    return env


def max_abs_diff(a, b):
    a = a.detach().double() if isinstance(a, torch.Tensor) else torch.from_numpy(np.asarray(a, np.float64))
    b = b.detach().double() if isinstance(b, torch.Tensor) else torch.from_numpy(np.asarray(b, np.float64))
    if a.shape != b.shape:
        return math.inf
    return float((a - b).abs().max()) if a.numel() else 0.0
