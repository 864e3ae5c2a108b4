/**
 * Array elements (an .npy's dtype and byte order) as the element type a model input declares:
 * float32/64/16, int64/32/16/8, uint8/16/32/64, bool. A cast that would change a value is refused,
 * naming the value and where it is: int64 ids from float64 only when every value is a whole number
 * in range; int32 from int64 only in int32's range; bool only from 0 and 1; float32 from an
 * integer only when the integer is exactly a float32. Floating point into floating point is the
 * one rounding allowed (float64 → float32 is how float32 models take float64 dumps).
 */
import { WorkbenchError } from '../../common/errors.js';
import { floatToHalf, halfToFloat } from '../io/half-float.js';
import type { NpyDType } from '../io/npy.js';

export type FeedData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** Element types a feed can have (onnxruntime's names; float16 is carried as Uint16Array bits). */
export const FEED_DTYPES = [
  'float32',
  'float64',
  'float16',
  'int64',
  'int32',
  'int16',
  'int8',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
] as const;

export type FeedDType = (typeof FEED_DTYPES)[number];

export function isFeedDType(dtype: string): dtype is FeedDType {
  return (FEED_DTYPES as readonly string[]).includes(dtype);
}

const FLOATS = new Set<string>(['float32', 'float64', 'float16']);
const INT_RANGE: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int16: [-(2 ** 15), 2 ** 15 - 1],
  int8: [-128, 127],
  uint8: [0, 255],
  uint16: [0, 65_535],
  uint32: [0, 2 ** 32 - 1],
};

export function allocateFeed(dtype: FeedDType, length: number): FeedData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'float16':
    case 'uint16':
      return new Uint16Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'uint64':
      return new BigUint64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(length);
  }
}

export interface CastSource {
  dtype: NpyDType;
  littleEndian: boolean;
}

/** Where the values come from and go, for the one-line error. */
export interface CastContext {
  /** `probe npz:/x/probe.npz, array 'input_ids'`. */
  source: string;
  input: string;
  /** Index of the first element (to name the example of a bad value). */
  firstElement: number;
  elementsPerExample: number;
}

function readElement(view: DataView, i: number, dtype: NpyDType, le: boolean): number | bigint {
  switch (dtype) {
    case 'float32':
      return view.getFloat32(i * 4, le);
    case 'float64':
      return view.getFloat64(i * 8, le);
    case 'float16':
      return halfToFloat(view.getUint16(i * 2, le));
    case 'uint8':
    case 'bool':
      return view.getUint8(i);
    case 'int8':
      return view.getInt8(i);
    case 'uint16':
      return view.getUint16(i * 2, le);
    case 'int16':
      return view.getInt16(i * 2, le);
    case 'uint32':
      return view.getUint32(i * 4, le);
    case 'int32':
      return view.getInt32(i * 4, le);
    case 'int64':
      return view.getBigInt64(i * 8, le);
    case 'uint64':
      return view.getBigUint64(i * 8, le);
  }
}

/** Elements of `raw` (in `source`'s dtype) as `target`, or BAD_PROBE at the first value that would change. */
export function castElements(raw: Uint8Array, source: CastSource, target: FeedDType, context: CastContext): FeedData {
  const itemSize = itemSizeOf(source.dtype);
  const count = raw.length / itemSize;
  const out = allocateFeed(target, count);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = source.littleEndian;
  const fromFloat = FLOATS.has(source.dtype);
  const refuse = (value: number | bigint, i: number): never => {
    const element = context.firstElement + i;
    const example = Math.floor(element / Math.max(1, context.elementsPerExample));
    throw new WorkbenchError(
      'BAD_PROBE',
      `${context.source} is ${source.dtype} and the model input '${context.input}' takes ${target}: ` +
        `the value ${String(value)} (example ${example}) cannot be cast to ${target} without changing it`,
    );
  };
  for (let i = 0; i < count; i++) {
    const value = readElement(view, i, source.dtype, le);
    if (typeof value === 'bigint') {
      writeBig(out, target, value, i, refuse);
      continue;
    }
    switch (target) {
      case 'float32':
        if (!fromFloat && Math.fround(value) !== value) refuse(value, i);
        (out as Float32Array)[i] = value;
        break;
      case 'float64':
        (out as Float64Array)[i] = value;
        break;
      case 'float16': {
        const bits = floatToHalf(value);
        if (!fromFloat && halfToFloat(bits) !== value) refuse(value, i);
        (out as Uint16Array)[i] = bits;
        break;
      }
      case 'int64':
        if (!Number.isSafeInteger(value)) refuse(value, i);
        (out as BigInt64Array)[i] = BigInt(value);
        break;
      case 'uint64':
        if (!Number.isSafeInteger(value) || value < 0) refuse(value, i);
        (out as BigUint64Array)[i] = BigInt(value);
        break;
      case 'bool':
        if (value !== 0 && value !== 1) refuse(value, i);
        (out as Uint8Array)[i] = value;
        break;
      default: {
        const [lo, hi] = INT_RANGE[target]!;
        if (!Number.isInteger(value) || value < lo || value > hi) refuse(value, i);
        (out as Int32Array)[i] = value;
      }
    }
  }
  return out;
}

function writeBig(
  out: FeedData,
  target: FeedDType,
  value: bigint,
  i: number,
  refuse: (value: bigint, i: number) => never,
): void {
  switch (target) {
    case 'int64':
      if (value > 0x7fffffffffffffffn) refuse(value, i);
      (out as BigInt64Array)[i] = value;
      return;
    case 'uint64':
      if (value < 0n) refuse(value, i);
      (out as BigUint64Array)[i] = value;
      return;
    case 'float32':
    case 'float64':
    case 'float16': {
      const n = Number(value);
      const exact = BigInt(n) === value && (target === 'float64' || Math.fround(n) === n);
      if (!exact || (target === 'float16' && halfToFloat(floatToHalf(n)) !== n)) refuse(value, i);
      if (target === 'float16') (out as Uint16Array)[i] = floatToHalf(n);
      else (out as Float32Array | Float64Array)[i] = n;
      return;
    }
    case 'bool':
      if (value !== 0n && value !== 1n) refuse(value, i);
      (out as Uint8Array)[i] = Number(value);
      return;
    default: {
      const [lo, hi] = INT_RANGE[target]!;
      if (value < BigInt(lo) || value > BigInt(hi)) refuse(value, i);
      (out as Int32Array)[i] = Number(value);
    }
  }
}

export function itemSizeOf(dtype: NpyDType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
    case 'uint64':
      return 8;
    case 'float32':
    case 'int32':
    case 'uint32':
      return 4;
    case 'float16':
    case 'int16':
    case 'uint16':
      return 2;
    default:
      return 1;
  }
}

/** float32 values (images, Fashion-MNIST, noise) as a float input of another precision. */
export function floatsAs(values: Float32Array, target: 'float32' | 'float64' | 'float16'): FeedData {
  if (target === 'float32') return values;
  if (target === 'float64') return Float64Array.from(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalf(values[i]!);
  return out;
}
