/**
 * Reductions of a layer's batch output to rows, run inside the model-runner process so that only
 * the rows cross the process boundary (`mean` of a [N, 197, 768] layer moves 1/197 of the bytes).
 *
 * Per example, in order:
 * 1. regroup: a first axis of examples × k (e.g. batch × heads) becomes [examples, k, …], from
 *    example-major rows (example i owns rows ik … ik+k−1) or head-major ones (row h·B + i); examples
 *    on another axis (a stacked [3, batch, …], a sequence-first [T, batch, d]) are taken from it;
 * 2. sequence axes (those that follow the batch's token length) are masked — positions the mask
 *    marks as padding become 0 — and padded with zeros to one length for the whole probe, so a
 *    row does not depend on how far its batch was padded;
 * 3. the reduction: every value (`all`); the mean over all axes but the channels (`spatial-mean`,
 *    global average pooling); or along a token axis the mean over valid tokens, the first or last
 *    valid token, or one row per valid token (`each`). Sums accumulate in float64.
 */
import { WorkbenchError } from '../../common/errors.js';
import { halfToFloat } from '../io/half-float.js';
import type { RunLayerPlan, RunReduceRequest, WireTensor } from './protocol.js';

/** The tensor types asFloat32 reads: the layers whose rows can be extracted and compared. */
export const ROW_FLOAT_TYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'float16']);

/**
 * The rows a run was asked for (runner/batch-grams.ts, ./row-files.ts): the first rows · features
 * values as float32 when the output has exactly the dims asked for and a float type; else null,
 * and the host names the problem from the output's dims and type.
 */
export function askedRows(
  tensor: WireTensor,
  asked: { dims: readonly number[]; rows: number; features: number },
): Float32Array | null {
  const sameDims = asked.dims.length === tensor.dims.length && asked.dims.every((d, k) => d === tensor.dims[k]);
  if (!sameDims || !ROW_FLOAT_TYPES.has(tensor.type)) return null;
  return asFloat32(tensor).subarray(0, asked.rows * asked.features);
}

/** A float tensor's values as float32. */
export function asFloat32(tensor: WireTensor): Float32Array {
  const { data } = tensor;
  if (tensor.type === 'float32') return data as Float32Array;
  if (tensor.type === 'float64') return Float32Array.from(data as Float64Array);
  if (tensor.type === 'float16') return Float32Array.from(data as Uint16Array, halfToFloat);
  throw new WorkbenchError('UNSUPPORTED', `layer ${tensor.name} is ${tensor.type}; only float layers can be compared`);
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

/** Features of one row under a plan, for an example shape (sequence axes at any length). */
export function planFeatures(plan: RunLayerPlan, exampleShape: readonly number[]): number {
  const shape = exampleShape.map((d, i) => (plan.seqAxes.includes(i) ? plan.padTo : d));
  switch (plan.reduce.kind) {
    case 'all':
      return product(shape);
    case 'spatial-mean':
      return shape[plan.reduce.channelAxis]!;
    case 'token':
      return product(shape) / shape[plan.reduce.axis]!;
  }
}

interface Example {
  /** Values of the example's tensor (regrouped), row-major in `shape`. */
  values: Float32Array;
  shape: number[];
}

/** Example `e`'s tensor from a batch output (regrouped when the plan says so). */
function exampleOf(data: Float32Array, dims: readonly number[], plan: RunLayerPlan, e: number, rows: number): Example {
  if (plan.batchAxis !== undefined) {
    const a = plan.batchAxis;
    const outer = product(dims.slice(0, a));
    const inner = product(dims.slice(a + 1));
    const values = new Float32Array(outer * inner);
    for (let o = 0; o < outer; o++)
      values.set(data.subarray((o * rows + e) * inner, (o * rows + e + 1) * inner), o * inner);
    return { values, shape: [...dims.slice(0, a), ...dims.slice(a + 1)] };
  }
  const rest = dims.slice(1);
  if (!plan.group) {
    const size = product(rest);
    return { values: data.subarray(e * size, (e + 1) * size), shape: rest };
  }
  const { k, order } = plan.group;
  const size = product(rest);
  if (order === 'example') return { values: data.subarray(e * k * size, (e + 1) * k * size), shape: [k, ...rest] };
  const values = new Float32Array(k * size);
  for (let h = 0; h < k; h++) values.set(data.subarray((h * rows + e) * size, (h * rows + e + 1) * size), h * size);
  return { values, shape: [k, ...rest] };
}

/**
 * The example with masked sequence positions zeroed and sequence axes resized to `padTo`; also
 * whether each position of `axis` (a token axis) is a valid token.
 */
function normalise(
  example: Example,
  plan: RunLayerPlan,
  mask: Uint8Array | null,
  maskOffset: number,
): { values: Float32Array; shape: number[] } {
  if (plan.seqAxes.length === 0) return example;
  const source = example.shape;
  const shape = source.map((d, i) => (plan.seqAxes.includes(i) ? plan.padTo : d));
  const out = new Float32Array(product(shape));
  const target = stridesOf(shape);
  const rank = source.length;
  const index = new Array<number>(rank).fill(0);
  const total = product(source);
  const isSeq = source.map((_, i) => plan.seqAxes.includes(i));
  for (let i = 0; i < total; i++) {
    let keep = true;
    let at = 0;
    for (let a = 0; a < rank; a++) {
      const p = index[a]!;
      if (isSeq[a] && (p >= plan.padTo || (mask !== null && mask[maskOffset + p] === 0))) keep = false;
      at += p * target[a]!;
    }
    if (keep) out[at] = example.values[i]!;
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a]! < source[a]!) break;
      index[a] = 0;
    }
  }
  return { values: out, shape };
}

/** Valid positions of a token axis for one example: all of them, or those the mask keeps. */
function validPositions(
  plan: RunLayerPlan,
  axis: number,
  tokens: number,
  mask: Uint8Array | null,
  maskOffset: number,
  length: number,
): number[] {
  const sequence = plan.seqAxes.includes(axis);
  const valid: number[] = [];
  for (let p = 0; p < tokens; p++) {
    if (!sequence || (p < length && (mask === null || mask[maskOffset + p] !== 0))) valid.push(p);
  }
  return valid;
}

/**
 * Applies `plan` to one fetched output: [rows, features] float32, written into one buffer (rows
 * are counted first), with one float64 scratch for the sums: no allocation per example.
 */
export function reduceOutput(tensor: WireTensor, plan: RunLayerPlan, request: RunReduceRequest): WireTensor {
  const data = asFloat32(tensor);
  const dims = tensor.dims;
  const batchRows =
    plan.batchAxis !== undefined ? dims[plan.batchAxis]! : plan.group ? dims[0]! / plan.group.k : dims[0]!;
  if (!Number.isInteger(batchRows) || batchRows < request.examples) {
    throw new WorkbenchError(
      'RUNTIME',
      `layer ${tensor.name} came out as [${dims.join(', ')}]; ${request.examples} examples${plan.group ? ` × ${plan.group.k}` : ''} were expected`,
    );
  }
  const length = request.length ?? 0;
  const mask = request.mask;
  const examples = request.examples;
  if (examples === 0) return { name: tensor.name, type: 'float32', dims: [0, 0], data: new Float32Array(0) };
  // One example's (regrouped, padded) shape is the same for every example of the batch.
  const rawShape = exampleOf(data, dims, plan, 0, batchRows).shape;
  const shape = rawShape.map((d, i) => (plan.seqAxes.includes(i) ? plan.padTo : d));
  const features = planFeatures(plan, rawShape);
  const reduce = plan.reduce;
  const tokenAxis = reduce.kind === 'token' ? reduce.axis : -1;
  const valid = Array.from({ length: examples }, (_, e) =>
    reduce.kind === 'token' ? validPositions(plan, tokenAxis, shape[tokenAxis]!, mask, e * length, length) : [],
  );
  const rowsOf = (e: number) => (reduce.kind === 'token' && reduce.pick === 'each' ? valid[e]!.length : 1);
  let rows = 0;
  for (let e = 0; e < examples; e++) rows += rowsOf(e);
  const out = new Float32Array(rows * features);
  const sums = reduce.kind === 'all' ? null : new Float64Array(features);
  let at = 0;
  for (let e = 0; e < examples; e++) {
    const x = normalise(exampleOf(data, dims, plan, e, batchRows), plan, mask, e * length);
    const values = x.values;
    if (reduce.kind === 'all') {
      out.set(values, at);
      at += features;
      continue;
    }
    if (reduce.kind === 'spatial-mean') {
      const c = reduce.channelAxis;
      const channels = shape[c]!;
      const inner = product(shape.slice(c + 1));
      sums!.fill(0);
      for (let i = 0; i < values.length; i++) sums![Math.floor(i / inner) % channels]! += values[i]!;
      const per = values.length / channels;
      for (let k = 0; k < channels; k++) out[at + k] = sums![k]! / per;
      at += features;
      continue;
    }
    const tokens = shape[tokenAxis]!;
    const pre = product(shape.slice(0, tokenAxis));
    const post = product(shape.slice(tokenAxis + 1));
    const positions = valid[e]!;
    const copyToken = (p: number) => {
      for (let i = 0; i < pre; i++)
        out.set(values.subarray((i * tokens + p) * post, (i * tokens + p + 1) * post), at + i * post);
      at += features;
    };
    switch (reduce.pick) {
      case 'mean': {
        sums!.fill(0);
        for (const p of positions) {
          for (let i = 0; i < pre; i++) {
            const base = (i * tokens + p) * post;
            const to = i * post;
            for (let j = 0; j < post; j++) sums![to + j]! += values[base + j]!;
          }
        }
        const count = Math.max(1, positions.length);
        for (let f = 0; f < features; f++) out[at + f] = sums![f]! / count;
        at += features;
        break;
      }
      case 'first':
      case 'last': {
        const p = reduce.pick === 'first' ? positions[0] : positions[positions.length - 1];
        if (p !== undefined) copyToken(p);
        else at += features; // no valid token: a row of zeros
        break;
      }
      case 'each':
        for (const p of positions) copyToken(p);
        break;
    }
  }
  return { name: tensor.name, type: 'float32', dims: [rows, features], data: out };
}
