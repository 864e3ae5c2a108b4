/**
 * Shapes of a model's tensors worked out from the file alone, so that opening a model needs no
 * onnxruntime session when its ops are common ones. PyTorch exports declare no intermediate
 * shapes (no value_info); these are the ONNX shape-inference rules of the ops such models use —
 * elementwise and broadcasting ops, Conv and pooling, Gemm/MatMul, normalisations, Flatten,
 * Reshape, Transpose, Concat, reductions — with the small integer tensors of shape arithmetic
 * (Shape → Gather → Concat → Reshape) propagated as values.
 *
 * It answers only when it knows every tensor asked about; otherwise the caller asks onnxruntime
 * (runner/model-types.ts), which remains the reference: `test/unit/shape-inference.test.ts`
 * checks the two agree on every fixture and zoo model this answers for.
 */
import type { Dim } from '../../common/contract.js';
import type { TensorType } from './catalogue.js';
import { ONNX_INT64 } from './dtypes.js';
import {
  addDim,
  broadcastShapes,
  divideDim,
  multiplyDim,
  isKnownShape,
  normaliseAxis,
  productOfDims,
  reshapeOutput,
  windowOutput,
  type Shape,
} from './shape-dims.js';
import type { OrderedNode } from './topology.js';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './types.js';

/** What the rules know of one tensor: its shape, and for small integer tensors their values. */
interface Known {
  shape: Shape | null;
  /** Elements of a scalar or 1-D integer tensor (a dim of some shape, or a size); null: unknown. */
  values?: Dim[];
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh',
  'Erf', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Neg', 'Abs', 'Softplus', 'Softsign', 'Mish', 'Sin', 'Cos',
  'Floor', 'Ceil', 'Round', 'Sign', 'Not', 'IsNaN', 'IsInf', 'Softmax', 'LogSoftmax', 'Hardmax', 'Clip',
  'Identity', 'Cast', 'CastLike', 'Dropout', 'BatchNormalization', 'LayerNormalization', 'InstanceNormalization',
  'GroupNormalization', 'LRN', 'ThresholdedRelu', 'Shrink',
]); // prettier-ignore
const BROADCAST = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Mod', 'Equal', 'Less', 'Greater',
  'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Where', 'BitShift',
]); // prettier-ignore
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceL1']);
/** Ops whose axes moved from an attribute to an input at this opset. */
const AXES_INPUT_SINCE: Record<string, number> = { ReduceSum: 13, Unsqueeze: 13, Squeeze: 13 };
const REDUCE_AXES_INPUT_SINCE = 18;

function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}
const intAttr = (node: OnnxNode, name: string, fallback: number) => {
  const a = attr(node, name);
  return a ? Number(a.i) : fallback;
};
const intsAttr = (node: OnnxNode, name: string): number[] | undefined => attr(node, name)?.ints.map(Number);
const stringAttr = (node: OnnxNode, name: string, fallback: string) => {
  const a = attr(node, name);
  return a && a.s.length > 0 ? new TextDecoder().decode(a.s) : fallback;
};

/** The values of a small integer tensor kept in the structure (model-structure.ts keeps them). */
function tensorValues(t: OnnxTensor): Dim[] | undefined {
  const count = t.dims.reduce((a, d) => a * Number(d), 1);
  if (count > 64 || (t.dataType !== ONNX_INT64 && t.dataType !== 6)) return undefined;
  if (t.int64Data.length === count) return t.int64Data.map(Number);
  if (t.int32Data.length === count) return [...t.int32Data];
  const bytes = t.dataType === ONNX_INT64 ? 8 : 4;
  if (t.rawData.length !== count * bytes) return count === 0 ? [] : undefined;
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  return Array.from({ length: count }, (_, i) =>
    bytes === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true),
  );
}

function tensorKnown(t: OnnxTensor): Known {
  const values = tensorValues(t);
  return { shape: t.dims.map(Number), ...(values ? { values } : {}) };
}

/** Elementwise arithmetic and comparisons on propagated values (sizes only; symbols where sure). */
function combineValues(op: string, a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') {
    switch (op) {
      case 'Add':
        return a + b;
      case 'Sub':
        return a - b;
      case 'Mul':
        return a * b;
      case 'Div':
        return b === 0 ? null : Math.trunc(a / b);
      case 'Equal':
        return a === b ? 1 : 0;
    }
    return null;
  }
  switch (op) {
    case 'Mul':
      return multiplyDim(a, b);
    case 'Div':
      return divideDim(a, b);
    case 'Equal':
      // A symbolic dim is a size: never negative, and equal to itself.
      if (typeof a === 'string' && typeof b === 'number' && b < 0) return 0;
      if (typeof b === 'string' && typeof a === 'number' && a < 0) return 0;
      if (typeof a === 'string' && a === b) return 1;
      return null;
    case 'Add':
    case 'Sub':
      return b === 0 ? a : op === 'Add' && a === 0 ? b : null;
  }
  return null;
}

/** Elementwise values of a broadcasting op over scalars or equal-length vectors. */
function broadcastValues(op: string, inputs: readonly (Known | undefined)[]): Dim[] | undefined {
  const values = inputs.map((k) => k?.values);
  if (values.some((v) => v === undefined)) return undefined;
  const length = Math.max(...values.map((v) => v!.length));
  if (values.some((v) => v!.length !== 1 && v!.length !== length)) return undefined;
  const at = (v: Dim[], i: number) => (v.length === 1 ? v[0]! : v[i]!);
  return Array.from({ length }, (_, i) => {
    if (op === 'Where') {
      const c = at(values[0]!, i);
      return c === null ? null : at(values[c ? 1 : 2]!, i);
    }
    return values.slice(1).reduce<Dim>((acc, v) => combineValues(op, acc, at(v!, i)), at(values[0]!, i));
  });
}

function axesOf(node: OnnxNode, known: readonly (Known | undefined)[], opset: number, since: number) {
  if (opset < since) return intsAttr(node, 'axes');
  const v = known[1]?.values;
  return v && v.every((d): d is number => typeof d === 'number') ? v : node.input[1] ? null : undefined;
}

/** Output 0's shape (and values) of one node from its inputs'; null shape when the rules do not say. */
function inferNode(node: OnnxNode, known: (Known | undefined)[], opset: number): Known[] {
  const op = node.opType;
  const x = known[0]?.shape ?? null;
  const unknown: Known = { shape: null };
  if (UNARY.has(op))
    return [
      { shape: x, ...(known[0]?.values && (op === 'Identity' || op === 'Cast') ? { values: known[0].values } : {}) },
    ];
  if (BROADCAST.has(op)) {
    const shapes = known.map((k) => k?.shape ?? null);
    if (shapes.some((s) => s === null)) return [unknown];
    const values = broadcastValues(op, known);
    return [{ shape: broadcastShapes(shapes as Shape[]), ...(values ? { values } : {}) }];
  }
  if (REDUCE.has(op)) {
    if (!x) return [unknown];
    const axes = axesOf(node, known, opset, AXES_INPUT_SINCE[op] ?? REDUCE_AXES_INPUT_SINCE);
    if (axes === null) return [unknown];
    const keep = intAttr(node, 'keepdims', 1) === 1;
    const reduced = new Set((axes ?? x.map((_, i) => i)).map((a) => normaliseAxis(a, x.length)));
    if (axes?.length === 0 && intAttr(node, 'noop_with_empty_axes', 0) === 1) return [{ shape: x }];
    if (axes?.length === 0) x.forEach((_, i) => reduced.add(i));
    return [{ shape: x.flatMap((d, i) => (reduced.has(i) ? (keep ? [1] : []) : [d])) }];
  }
  switch (op) {
    case 'Constant': {
      const t = attr(node, 'value')?.t;
      if (t) return [tensorKnown(t)];
      const ints = intsAttr(node, 'value_ints');
      if (attr(node, 'value_int')) return [{ shape: [], values: [intAttr(node, 'value_int', 0)] }];
      if (ints) return [{ shape: [ints.length], values: ints }];
      const floats = attr(node, 'value_floats');
      return [floats ? { shape: [floats.floats.length] } : attr(node, 'value_float') ? { shape: [] } : unknown];
    }
    case 'Shape': {
      if (!x) return [unknown];
      const start =
        normaliseAxis(Math.max(-x.length, Math.min(intAttr(node, 'start', 0), x.length - 1)), x.length) ?? 0;
      const endAttr = attr(node, 'end') ? intAttr(node, 'end', x.length) : x.length;
      const end = endAttr < 0 ? endAttr + x.length : Math.min(endAttr, x.length);
      const values = x.slice(start, end);
      return [{ shape: [values.length], values }];
    }
    case 'Conv': {
      const w = known[1]?.shape;
      if (!x || !w || x.length < 3) return [unknown];
      const spatial = x.length - 2;
      const kernel = intsAttr(node, 'kernel_shape') ?? (w.slice(2) as number[]);
      const window = windowOutput(x.slice(2), {
        kernel: kernel.map(Number),
        strides: intsAttr(node, 'strides') ?? Array(spatial).fill(1),
        dilations: intsAttr(node, 'dilations') ?? Array(spatial).fill(1),
        pads: intsAttr(node, 'pads') ?? Array(2 * spatial).fill(0),
        autoPad: stringAttr(node, 'auto_pad', 'NOTSET'),
        ceilMode: false,
      });
      return [{ shape: [x[0]!, w[0]!, ...window] }];
    }
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool': {
      const kernel = intsAttr(node, 'kernel_shape');
      if (!x || !kernel || x.length < 3) return [unknown];
      const window = windowOutput(x.slice(2), {
        kernel,
        strides: intsAttr(node, 'strides') ?? kernel.map(() => 1),
        dilations: intsAttr(node, 'dilations') ?? kernel.map(() => 1),
        pads: intsAttr(node, 'pads') ?? [...kernel, ...kernel].map(() => 0),
        autoPad: stringAttr(node, 'auto_pad', 'NOTSET'),
        ceilMode: intAttr(node, 'ceil_mode', 0) === 1,
      });
      const shape = [x[0]!, x[1]!, ...window];
      return node.output.length > 1 ? [{ shape }, { shape }] : [{ shape }];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'GlobalLpPool':
      return [x && x.length >= 3 ? { shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] } : unknown];
    case 'Flatten': {
      if (!x) return [unknown];
      const axis = normaliseAxis(intAttr(node, 'axis', 1), x.length + 1);
      if (axis === null) return [unknown];
      return [{ shape: [productOfDims(x.slice(0, axis)), productOfDims(x.slice(axis))] }];
    }
    case 'Gemm': {
      const b = known[1]?.shape;
      if (!x || !b || x.length !== 2 || b.length !== 2) return [unknown];
      const m = intAttr(node, 'transA', 0) ? x[1]! : x[0]!;
      const n = intAttr(node, 'transB', 0) ? b[0]! : b[1]!;
      return [{ shape: [m, n] }];
    }
    case 'MatMul': {
      const b = known[1]?.shape;
      if (!x || !b || x.length === 0 || b.length === 0) return [unknown];
      const a2 = x.length === 1 ? [1, x[0]!] : x;
      const b2 = b.length === 1 ? [b[0]!, 1] : b;
      const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)]);
      if (!batch) return [unknown];
      return [{ shape: [...batch, ...(x.length > 1 ? [a2.at(-2)!] : []), ...(b.length > 1 ? [b2.at(-1)!] : [])] }];
    }
    case 'Transpose': {
      if (!x) return [unknown];
      const perm = intsAttr(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      return [{ shape: perm.map((p) => x[p] ?? null) }];
    }
    case 'Concat': {
      const shapes = known.map((k) => k?.shape ?? null);
      if (shapes.some((s) => s === null) || shapes.length === 0) return [unknown];
      const first = shapes[0]!;
      const axis = normaliseAxis(intAttr(node, 'axis', 0), first.length);
      if (axis === null) return [unknown];
      const shape = first.map((d, i) => (i === axis ? shapes.map((s) => s![i] ?? null).reduce(addDim) : d));
      const values = known.every((k) => k?.values) ? known.flatMap((k) => k!.values!) : undefined;
      return [{ shape, ...(values && first.length === 1 ? { values } : {}) }];
    }
    case 'Reshape': {
      const target = known[1]?.values;
      if (!target) return [unknown];
      return [
        {
          shape: reshapeOutput(x, target, intAttr(node, 'allowzero', 0) === 1),
          ...(known[0]?.values ? { values: known[0].values } : {}),
        },
      ];
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = axesOf(node, known, opset, AXES_INPUT_SINCE[op]!);
      if (!x || axes === null) return [unknown];
      const values = known[0]?.values;
      if (op === 'Unsqueeze') {
        if (!axes) return [unknown];
        const rank = x.length + axes.length;
        const at = new Set(axes.map((a) => normaliseAxis(a, rank)));
        const shape: Dim[] = [];
        for (let i = 0, k = 0; i < rank; i++) shape.push(at.has(i) ? 1 : x[k++]!);
        return [{ shape, ...(values ? { values } : {}) }];
      }
      const dropped = new Set(
        (axes ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normaliseAxis(a, x.length)),
      );
      if (!axes && x.some((d) => d === null || typeof d === 'string')) return [unknown];
      return [{ shape: x.filter((_, i) => !dropped.has(i)), ...(values ? { values } : {}) }];
    }
    case 'Gather': {
      const indices = known[1];
      if (!x || !indices?.shape) return [unknown];
      const axis = normaliseAxis(intAttr(node, 'axis', 0), x.length);
      if (axis === null) return [unknown];
      const shape = [...x.slice(0, axis), ...indices.shape, ...x.slice(axis + 1)];
      const data = known[0]?.values;
      const picks = indices.values;
      const values =
        data && picks && x.length === 1
          ? picks.map((i) => (typeof i === 'number' ? (data[i < 0 ? i + data.length : i] ?? null) : null))
          : undefined;
      return [{ shape, ...(values ? { values } : {}) }];
    }
    case 'Slice': {
      const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => (node.input[i] ? known[i]?.values : undefined));
      if (!x || !starts || !ends || [starts, ends, axes, steps].some((v) => v?.some((d) => typeof d !== 'number')))
        return [unknown];
      const shape = [...x];
      const data = known[0]?.values;
      let values = data && x.length === 1 ? [...data] : undefined;
      for (let j = 0; j < starts.length; j++) {
        const axis = normaliseAxis(Number(axes?.[j] ?? j), x.length);
        const d = axis === null ? null : x[axis]!;
        const step = Number(steps?.[j] ?? 1);
        if (axis === null || typeof d !== 'number' || step === 0) return [unknown];
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
        const start = step > 0 ? clamp(Number(starts[j]), 0, d) : clamp(Number(starts[j]), -1, d - 1);
        const end = step > 0 ? clamp(Number(ends[j]), 0, d) : clamp(Number(ends[j]), -1, d - 1);
        shape[axis] = Math.max(0, Math.ceil((end - start) / step));
        if (values) values = Array.from({ length: shape[axis] as number }, (_, k) => values![start + k * step]!);
      }
      return [{ shape, ...(values ? { values } : {}) }];
    }
    case 'ConstantOfShape': {
      const shape = known[0]?.values;
      if (!shape) return [unknown];
      const fill = attr(node, 'value')?.t;
      const value = fill ? tensorValues(fill)?.[0] : undefined;
      const count = productOfDims(shape);
      const values =
        value !== undefined && typeof count === 'number' && count <= 64 && shape.length <= 1
          ? Array<Dim>(count).fill(value)
          : undefined;
      return [{ shape, ...(values ? { values } : {}) }];
    }
    case 'Expand': {
      const target = known[1]?.values;
      if (!x || !target) return [unknown];
      return [{ shape: broadcastShapes([x, target]) }];
    }
    default:
      return node.output.map(() => unknown);
  }
}

/**
 * Types of the graph's inputs, outputs and every node output the rules cover (the others are
 * left out): the file's element types (`declared`, from the catalogue) with inferred shapes.
 * Shapes as onnxruntime reports them: a scalar's is null, and a graph output keeps the shape the
 * file declares for it.
 */
export function inferShapes(
  graph: OnnxGraph,
  order: readonly OrderedNode[],
  declared: ReadonlyMap<string, TensorType>,
  opset: number,
): Map<string, TensorType> {
  const known = new Map<string, Known>();
  for (const t of graph.initializer) known.set(t.name, tensorKnown(t));
  for (const v of graph.input) {
    if (!known.has(v.name)) known.set(v.name, { shape: declared.get(v.name)?.shape ?? null });
  }
  for (const { node } of order) {
    if (node.domain && node.domain !== 'ai.onnx') continue;
    const inputs = node.input.map((name) => (name ? known.get(name) : undefined));
    inferNode(node, inputs, opset).forEach((k, i) => {
      const name = node.output[i];
      if (name && k.shape) known.set(name, k);
    });
  }
  const types = new Map<string, TensorType>();
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  for (const [name, k] of known) {
    const dtype = declared.get(name)?.dtype;
    if (!dtype || dtype === 'unknown' || !k.shape) continue;
    let shape: Shape | null = k.shape.length > 0 ? k.shape : null;
    const fileShape = graphOutputs.has(name) ? declared.get(name)?.shape : undefined;
    if (fileShape && shape && fileShape.length === shape.length) {
      shape = fileShape.map((d, i) => d ?? shape![i]!);
    }
    types.set(name, { dtype, shape });
  }
  return types;
}

/**
 * Whether `types` answers for every one of `names`: each is there (the rules covered it) with an
 * element type and a shape whose every dim is known (a scalar's shape is null, as onnxruntime's).
 */
export function answersFor(types: ReadonlyMap<string, TensorType>, names: Iterable<string>): boolean {
  for (const name of names) {
    const t = types.get(name);
    if (!t || t.dtype === 'unknown' || (t.shape !== null && !isKnownShape(t.shape))) return false;
  }
  return true;
}
