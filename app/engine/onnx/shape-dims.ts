/**
 * Dimension arithmetic of ONNX shape inference (onnx/defs/shape_inference.h and the ops' own
 * inference functions), on dims that are a size, a symbol (dim_param, e.g. `batch`, or a product
 * of them with a size, `batch*4`) or unknown (null). Where the rules cannot tell, these give null;
 * the caller then asks onnxruntime instead.
 */
import type { Dim } from '../../common/contract.js';

export type Shape = Dim[];

/**
 * A symbolic dim as a product: its symbols (sorted) and a whole coefficient. `batch*4` is what
 * a [batch, heads, …] tensor merged into [batch·heads, …] has on its first axis; onnxruntime calls
 * that dim unknown, but it is known, and a later reshape that splits it again is resolved.
 */
interface SymbolicProduct {
  symbols: string[];
  coefficient: number;
}

function asProduct(d: number | string): SymbolicProduct {
  if (typeof d === 'number') return { symbols: [], coefficient: d };
  const symbols: string[] = [];
  let coefficient = 1;
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coefficient *= Number(part);
    else symbols.push(part);
  }
  return { symbols: symbols.sort(), coefficient };
}

function fromProduct({ symbols, coefficient }: SymbolicProduct): number | string {
  if (symbols.length === 0) return coefficient;
  return coefficient === 1 ? symbols.join('*') : [...symbols, String(coefficient)].join('*');
}

/** a · b: sizes multiply, and symbols too (`batch` · 4 = `batch*4`); unknown stays unknown. */
export function multiplyDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === null || b === null || a === 0 || b === 0) return a === 0 || b === 0 ? 0 : null;
  const p = asProduct(a);
  const q = asProduct(b);
  return fromProduct({ symbols: [...p.symbols, ...q.symbols].sort(), coefficient: p.coefficient * q.coefficient });
}

/** a / b when it divides exactly (`batch*4` / 4 = `batch`, 64 / `batch` is unknown). */
export function divideDim(a: Dim, b: Dim): Dim {
  if (a === null || b === null || b === 0) return null;
  const p = asProduct(a);
  const q = asProduct(b);
  const symbols = [...p.symbols];
  for (const s of q.symbols) {
    const k = symbols.indexOf(s);
    if (k < 0) return null;
    symbols.splice(k, 1);
  }
  if (p.coefficient % q.coefficient !== 0) return null;
  return fromProduct({ symbols, coefficient: p.coefficient / q.coefficient });
}

export function productOfDims(dims: readonly Dim[]): Dim {
  return dims.reduce<Dim>((acc, d) => multiplyDim(acc, d), 1);
}

/** a + b for a Concat axis: sizes add, anything else is unknown. */
export function addDim(a: Dim, b: Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a + b : null;
}

/**
 * Numpy-style broadcasting of several shapes (ONNX multidirectionalBroadcastShapeInference): per
 * axis, a size other than 1 wins; with only 1s and one symbol, the symbol; with two different
 * symbols, unknown. Null when the shapes cannot broadcast.
 */
export function broadcastShapes(shapes: readonly Shape[]): Shape | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    let size = 1;
    let symbols = 0;
    let symbol: Dim = null;
    for (const shape of shapes) {
      const k = i - (rank - shape.length);
      if (k < 0) continue;
      const d = shape[k]!;
      if (typeof d === 'number') {
        if (d === 1) continue;
        if (size !== 1 && size !== d) return null;
        size = d;
      } else if (symbols === 0) {
        symbol = d;
        symbols = 1;
      } else if (d !== symbol || d === null) {
        symbols++;
      }
    }
    out.push(size !== 1 || symbols === 0 ? size : symbols === 1 ? symbol : null);
  }
  return out;
}

export interface WindowOptions {
  kernel: readonly number[];
  strides: readonly number[];
  dilations: readonly number[];
  /** Begin pads then end pads, as the ONNX attribute. */
  pads: readonly number[];
  autoPad: string;
  ceilMode: boolean;
}

/** Output sizes of a sliding window (Conv, MaxPool, AveragePool) over spatial sizes `input`. */
export function windowOutput(input: readonly Dim[], o: WindowOptions): Dim[] {
  const rank = input.length;
  return input.map((d, i) => {
    if (typeof d !== 'number') return null;
    const stride = o.strides[i] ?? 1;
    const dilation = o.dilations[i] ?? 1;
    const effective = ((o.kernel[i] ?? 1) - 1) * dilation + 1;
    if (o.autoPad === 'SAME_UPPER' || o.autoPad === 'SAME_LOWER') return Math.ceil(d / stride);
    if (o.autoPad === 'VALID') return Math.ceil((d - effective + 1) / stride);
    const padded = d + (o.pads[i] ?? 0) + (o.pads[i + rank] ?? 0) - effective;
    const steps = o.ceilMode ? Math.ceil(padded / stride) : Math.floor(padded / stride);
    let size = steps + 1;
    // With ceil_mode a last window that would start in the end padding is dropped (as onnxruntime).
    if (o.ceilMode && (size - 1) * stride >= d + (o.pads[i] ?? 0)) size--;
    return size >= 0 ? size : null;
  });
}

/** Normalises a possibly negative axis against `rank`; null when it is out of range. */
export function normaliseAxis(axis: number, rank: number): number | null {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : null;
}

/**
 * Reshape's target shape: 0 copies the input's dim (unless allowzero), −1 is the input's size
 * over the other target dims' ([batch, 16, 2, 2] → [batch, −1] is [batch, 64]), when that divides
 * exactly; otherwise it is unknown.
 */
export function reshapeOutput(input: Shape | null, target: readonly Dim[], allowZero: boolean): Shape | null {
  const out: Dim[] = target.map((d, i) => {
    if (d === 0 && !allowZero) return input ? (input[i] ?? null) : null;
    return d;
  });
  const minusOne = out.findIndex((d) => d === -1);
  if (out.some((d, i) => typeof d === 'number' && d < 0 && i !== minusOne)) return null;
  if (minusOne < 0) return out;
  const others = productOfDims(out.filter((_, i) => i !== minusOne));
  out[minusOne] = input ? divideDim(productOfDims(input), others) : null;
  return out;
}

/** A shape that is fully known: every dim a size or a symbol. */
export function isKnownShape(shape: Shape | null | undefined): shape is Shape {
  return Array.isArray(shape) && shape.every((d) => d !== null);
}
