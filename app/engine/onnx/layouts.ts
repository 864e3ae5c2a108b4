/**
 * Which axis of a tensor holds the channels, from the graph alone — what the spatial `mean`
 * reduction (global average pooling) needs, for NCHW and NHWC tensors alike. Shapes cannot tell
 * ([b, 16, 16, 16]), and neither can the model input's layout (a tf2onnx graph mixes both), so:
 *
 * 1. ONNX fixes the layout of some ops: the data input and the output of Conv, ConvTranspose, the
 *    pools and the normalisations over channels are NCHW (channel axis 1) by their definition;
 * 2. Transpose moves it: an input channel axis c is the output's axis perm.indexOf(c);
 * 3. elementwise ops keep it (unary ops; binary ops whose known operands agree);
 * 4. it is propagated forward from producers and backward from consumers (a tensor that reaches a
 *    Conv's data input through 2 and 3 has that input's layout), to a fixed point; operands that
 *    disagree make a tensor unknown;
 * 5. the channel count is recorded where the weights say it (a Conv's W.shape[0], a
 *    BatchNormalization's scale), for the caller to check against the real shape.
 *
 * After anything else (Reshape, Flatten, MatMul, Gather, Concat, …) the layout is unknown: the
 * caller must not guess.
 */
import type { OnnxGraph, OnnxNode } from './types.js';

export interface ChannelAxis {
  /** Axis of the full tensor (batch axis included). */
  axis: number;
  /** The channel count the weights give, when they do. */
  channels: number | null;
}

const NCHW_OPS = new Set([
  'Conv',
  'ConvTranspose',
  'MaxPool',
  'AveragePool',
  'LpPool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'GlobalLpPool',
  'BatchNormalization',
  'InstanceNormalization',
  'LRN',
  'MaxRoiPool',
]);

const UNARY_OPS = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Clip',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'Tanh',
  'Softplus',
  'Softsign',
  'Mish',
  'Erf',
  'Identity',
  'Cast',
  'Dropout',
  'Abs',
  'Neg',
  'Exp',
  'Log',
  'Sqrt',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Pad',
  'Resize',
  'Upsample',
]);

const BINARY_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean']);

const CONFLICT = -1;

function permOf(node: OnnxNode): number[] | null {
  const perm = node.attribute.find((a) => a.name === 'perm');
  return perm ? perm.ints.map(Number) : null;
}

/** Channel counts the weights give for a node's output. */
function weightChannels(node: OnnxNode, initializers: Map<string, bigint[]>): number | null {
  if (node.opType === 'Conv' || node.opType === 'ConvTranspose') {
    const w = initializers.get(node.input[1] ?? '');
    if (!w || w.length < 2) return null;
    if (node.opType === 'Conv') return Number(w[0]);
    const group = Number(node.attribute.find((a) => a.name === 'group')?.i ?? 1n);
    return Number(w[1]) * group;
  }
  if (node.opType === 'BatchNormalization' || node.opType === 'InstanceNormalization') {
    const scale = initializers.get(node.input[1] ?? '');
    return scale && scale.length === 1 ? Number(scale[0]) : null;
  }
  return null;
}

/** The channel axis of every tensor the rules reach (conflicts and unknowns are absent). */
export function channelAxes(graph: OnnxGraph): Map<string, ChannelAxis> {
  const initializers = new Map(graph.initializer.map((t) => [t.name, t.dims] as const));
  const axis = new Map<string, number>();
  const channels = new Map<string, number>();
  const set = (tensor: string, value: number): boolean => {
    if (!tensor || initializers.has(tensor)) return false;
    const known = axis.get(tensor);
    if (known === undefined) {
      axis.set(tensor, value);
      return true;
    }
    if (known !== value && known !== CONFLICT) {
      axis.set(tensor, CONFLICT);
      return true;
    }
    return false;
  };
  const get = (tensor: string) => {
    const a = axis.get(tensor);
    return a === undefined || a === CONFLICT ? undefined : a;
  };

  for (const node of graph.node) {
    if (!NCHW_OPS.has(node.opType)) continue;
    const count = weightChannels(node, initializers);
    if (count !== null && node.output[0]) channels.set(node.output[0], count);
  }

  for (let pass = 0; pass < 8; pass++) {
    let changed = false;
    // Forward: producers decide their outputs.
    for (const node of graph.node) {
      const out = node.output[0] ?? '';
      if (NCHW_OPS.has(node.opType)) {
        changed = set(out, 1) || changed;
        changed = set(node.input[0] ?? '', 1) || changed;
      } else if (node.opType === 'Transpose') {
        const perm = permOf(node);
        const a = get(node.input[0] ?? '');
        if (perm && a !== undefined && perm.includes(a)) changed = set(out, perm.indexOf(a)) || changed;
      } else if (UNARY_OPS.has(node.opType)) {
        const a = get(node.input[0] ?? '');
        if (a !== undefined) changed = set(out, a) || changed;
      } else if (BINARY_OPS.has(node.opType)) {
        const known = [...new Set(node.input.map(get).filter((a): a is number => a !== undefined))];
        if (known.length === 1) changed = set(out, known[0]!) || changed;
      }
    }
    // Backward: a consumer that needs a layout gives it to its input.
    for (let i = graph.node.length - 1; i >= 0; i--) {
      const node = graph.node[i]!;
      const out = get(node.output[0] ?? '');
      if (out === undefined) continue;
      if (node.opType === 'Transpose') {
        const perm = permOf(node);
        if (perm && out < perm.length) changed = set(node.input[0] ?? '', perm[out]!) || changed;
      } else if (UNARY_OPS.has(node.opType)) {
        changed = set(node.input[0] ?? '', out) || changed;
      }
    }
    if (!changed) break;
  }

  // Channel counts follow the axis through the ops that keep or move it.
  for (const node of graph.node) {
    const out = node.output[0] ?? '';
    if (channels.has(out)) continue;
    if (
      node.opType === 'Transpose' ||
      UNARY_OPS.has(node.opType) ||
      BINARY_OPS.has(node.opType) ||
      NCHW_OPS.has(node.opType)
    ) {
      const from = node.input.map((t) => channels.get(t)).find((c) => c !== undefined);
      if (from !== undefined) channels.set(out, from);
    }
  }

  const result = new Map<string, ChannelAxis>();
  for (const [tensor, a] of axis) {
    if (a !== CONFLICT) result.set(tensor, { axis: a, channels: channels.get(tensor) ?? null });
  }
  return result;
}
