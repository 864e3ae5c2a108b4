/**
 * NumPy `.npy` format (versions 1.0–3.0): read whole arrays, read headers only, and write float
 * arrays atomically. Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * Only numeric, C-ordered or Fortran-ordered arrays of fixed-size scalars are supported; object
 * arrays and structured dtypes give a clear error.
 */
import { WorkbenchError } from '../../common/errors.js';
import { writeFileAtomic } from './atomic.js';
import { halfToFloat } from './half-float.js';
import { FILE_SIZE_LIMITS, openRegularFile, readRegularFile } from './regular-file.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

export type NpyDType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'uint32'
  | 'int32'
  | 'int64'
  | 'uint64'
  | 'bool';

export type NpyTypedArray =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array;

export interface NpyHeader {
  dtype: NpyDType;
  /** Bytes per element. */
  itemSize: number;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the first element in the file. */
  dataOffset: number;
}

export interface NpyArray {
  header: NpyHeader;
  /** Elements in C (row-major) order, converted to the machine's (little) endianness. */
  data: NpyTypedArray;
}

const DESCR_TO_DTYPE: Record<string, { dtype: NpyDType; itemSize: number }> = {
  f4: { dtype: 'float32', itemSize: 4 },
  f8: { dtype: 'float64', itemSize: 8 },
  f2: { dtype: 'float16', itemSize: 2 },
  u1: { dtype: 'uint8', itemSize: 1 },
  i1: { dtype: 'int8', itemSize: 1 },
  u2: { dtype: 'uint16', itemSize: 2 },
  i2: { dtype: 'int16', itemSize: 2 },
  u4: { dtype: 'uint32', itemSize: 4 },
  i4: { dtype: 'int32', itemSize: 4 },
  i8: { dtype: 'int64', itemSize: 8 },
  u8: { dtype: 'uint64', itemSize: 8 },
  b1: { dtype: 'bool', itemSize: 1 },
};

function fail(source: string, problem: string): never {
  throw new WorkbenchError('BAD_INPUT', `${source}: not a readable .npy array (${problem})`);
}

/** Parses the header at the start of `bytes` (which must hold at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array, source = 'array'): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(source, 'missing NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail(source, 'truncated header');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    fail(source, `unsupported format version ${major}`);
  }
  if (headerStart + headerLength > bytes.length) fail(source, 'truncated header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLength),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    fail(source, 'header is not a plain numeric array description');
  }
  const order = descr[0];
  const kind = DESCR_TO_DTYPE[descr.slice(1)];
  if (!kind || !['<', '>', '|', '='].includes(order ?? '')) fail(source, `unsupported dtype '${descr}'`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) fail(source, `bad dimension '${s}'`);
      return n;
    });
  return {
    dtype: kind.dtype,
    itemSize: kind.itemSize,
    littleEndian: order !== '>',
    fortranOrder: fortran === 'True',
    shape,
    dataOffset: headerStart + headerLength,
  };
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function typedArrayFor(dtype: NpyDType, buffer: ArrayBuffer, count: number): NpyTypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, 0, count);
    case 'float64':
      return new Float64Array(buffer, 0, count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, 0, count);
    case 'int8':
      return new Int8Array(buffer, 0, count);
    case 'uint16':
    case 'float16':
      return new Uint16Array(buffer, 0, count);
    case 'int16':
      return new Int16Array(buffer, 0, count);
    case 'uint32':
      return new Uint32Array(buffer, 0, count);
    case 'int32':
      return new Int32Array(buffer, 0, count);
    case 'int64':
      return new BigInt64Array(buffer, 0, count);
    case 'uint64':
      return new BigUint64Array(buffer, 0, count);
  }
}

/** Parses a whole `.npy` file held in memory. */
export function parseNpy(bytes: Uint8Array, source = 'array'): NpyArray {
  const header = parseNpyHeader(bytes, source);
  const count = elementCount(header.shape);
  const byteLength = count * header.itemSize;
  if (header.dataOffset + byteLength > bytes.length) {
    fail(source, `data truncated: header promises ${byteLength} bytes, file has ${bytes.length - header.dataOffset}`);
  }
  // Copy into a fresh, aligned buffer (the file's data offset need not be aligned).
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(header.dataOffset, header.dataOffset + byteLength));
  if (!header.littleEndian && header.itemSize > 1) swapBytes(copy, header.itemSize);
  let data = typedArrayFor(header.dtype, copy.buffer, count);
  if (header.fortranOrder && header.shape.length > 1) data = fortranToC(data, header.shape);
  return { header, data };
}

/** Reads a whole .npy file (a regular file only, see regular-file.ts). */
export async function readNpy(path: string): Promise<NpyArray> {
  const { bytes } = await readRegularFile(path, { what: '.npy file', maxBytes: FILE_SIZE_LIMITS.array });
  return parseNpy(bytes, path);
}

/** Reads only the header (and checks the file is long enough for the data it declares). */
export async function readNpyHeader(path: string): Promise<NpyHeader> {
  const file = await openRegularFile(path, { what: '.npy file', maxBytes: FILE_SIZE_LIMITS.array });
  try {
    const { size, handle } = file;
    const probe = new Uint8Array(Math.min(size, 65_536 + 12));
    await handle.read(probe, 0, probe.length, 0);
    const header = parseNpyHeader(probe, path);
    const needed = header.dataOffset + elementCount(header.shape) * header.itemSize;
    if (needed > size) fail(path, `data truncated: needs ${needed} bytes, file has ${size}`);
    return header;
  } finally {
    await file.close();
  }
}

function swapBytes(bytes: Uint8Array, itemSize: number): void {
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function fortranToC<T extends NpyTypedArray>(data: T, shape: number[]): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const rank = shape.length;
  const fStrides = new Array<number>(rank);
  let s = 1;
  for (let d = 0; d < rank; d++) {
    fStrides[d] = s;
    s *= shape[d]!;
  }
  const index = new Array<number>(rank).fill(0);
  for (let c = 0; c < data.length; c++) {
    let f = 0;
    for (let d = 0; d < rank; d++) f += index[d]! * fStrides[d]!;
    (out as unknown as number[])[c] = (data as unknown as number[])[f]!;
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      if (index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

const DTYPE_TO_DESCR: Partial<Record<NpyDType, string>> = {
  float32: '<f4',
  float64: '<f8',
  uint8: '|u1',
  int8: '|i1',
  int32: '<i4',
  int64: '<i8',
};

/** The header bytes (version 1.0, padded so the data starts on a 64-byte boundary). */
export function npyHeaderBytes(dtype: NpyDType, shape: readonly number[]): Uint8Array {
  const descr = DTYPE_TO_DESCR[dtype];
  if (!descr) throw new WorkbenchError('UNSUPPORTED', `cannot write .npy arrays of ${dtype}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** Serialises a C-ordered array to `.npy` bytes. */
export function encodeNpy(
  data: Float32Array | Float64Array | Uint8Array | Int32Array,
  shape: readonly number[],
): Uint8Array {
  if (elementCount(shape) !== data.length) {
    throw new WorkbenchError('INTERNAL', `npy: shape [${shape.join(', ')}] does not hold ${data.length} elements`);
  }
  const dtype: NpyDType =
    data instanceof Float32Array
      ? 'float32'
      : data instanceof Float64Array
        ? 'float64'
        : data instanceof Uint8Array
          ? 'uint8'
          : 'int32';
  const header = npyHeaderBytes(dtype, shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}

/** Writes an array as `.npy` atomically (temp file + rename): readers never see half a file. */
export async function writeNpy(
  path: string,
  data: Float32Array | Float64Array | Uint8Array | Int32Array,
  shape: readonly number[],
): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}

/** Converts any numeric npy data to float64 values (float16 decoded; 64-bit ints via Number). */
export function toFloat64(array: NpyArray): Float64Array {
  const { data, header } = array;
  if (data instanceof Float64Array) return data;
  const out = new Float64Array(data.length);
  if (header.dtype === 'float16') {
    const halves = data as Uint16Array;
    for (let i = 0; i < halves.length; i++) out[i] = halfToFloat(halves[i]!);
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i]!;
  }
  return out;
}

/** Converts any numeric npy data to float32 (a no-op view for float32 arrays). */
export function toFloat32(array: NpyArray): Float32Array {
  if (array.data instanceof Float32Array) return array.data;
  return Float32Array.from(toFloat64(array));
}
