/**
 * Getting a layer's activations into a worker's own (non-shared) buffer, which is what onnxruntime
 * can read: `.npy` files are read straight into the reused buffer (one pass over the bytes, no
 * intermediate copy), shared arrays are copied in. Whole layers for exact Grams, row selections
 * for minibatches.
 */
import { WorkbenchError } from '../../common/errors.js';
import { elementCount, readNpy, readNpyHeader, toFloat32, type NpyHeader } from '../io/npy.js';
import { FILE_SIZE_LIMITS, openRegularFile } from '../io/regular-file.js';
import type { Workspace } from './workspace.js';

export type ActivationInput =
  { kind: 'npy'; path: string } | { kind: 'shared'; data: Float32Array | Float64Array; n: number; features: number };

/** Which rows to take: a contiguous range or an explicit list (a shuffled batch). */
export type RowSelection = { start: number; count: number } | { indices: Uint32Array };

export interface LoadedActivations {
  x: Float32Array | Float64Array;
  n: number;
  features: number;
}

function rowsOf(
  selection: RowSelection | undefined,
  n: number,
): { count: number; at: (r: number) => number; contiguousStart: number | null } {
  if (!selection) return { count: n, at: (r) => r, contiguousStart: 0 };
  if ('indices' in selection) {
    const idx = selection.indices;
    return { count: idx.length, at: (r) => idx[r]!, contiguousStart: null };
  }
  return { count: selection.count, at: (r) => selection.start + r, contiguousStart: selection.start };
}

function directlyReadable(header: NpyHeader): boolean {
  return (header.dtype === 'float32' || header.dtype === 'float64') && header.littleEndian && !header.fortranOrder;
}

export function npyRowsAndFeatures(header: NpyHeader, path: string): { n: number; features: number } {
  if (header.shape.length === 0)
    throw new WorkbenchError('BAD_INPUT', `${path}: a scalar, not an [examples, features] array`);
  const n = header.shape[0]!;
  const features = elementCount(header.shape.slice(1));
  return { n, features };
}

/** Examples and features of an input without reading its data. */
export async function activationShape(input: ActivationInput): Promise<{ n: number; features: number }> {
  if (input.kind === 'shared') return { n: input.n, features: input.features };
  return npyRowsAndFeatures(await readNpyHeader(input.path), input.path);
}

export async function loadActivations(
  input: ActivationInput,
  workspace: Workspace,
  selection?: RowSelection,
  bufferName = 'activations',
): Promise<LoadedActivations> {
  if (input.kind === 'shared') {
    const { data, n, features } = input;
    const rows = rowsOf(selection, n);
    const Ctor = data instanceof Float64Array ? Float64Array : Float32Array;
    const x = workspace.get(bufferName, Ctor, rows.count * features);
    if (rows.contiguousStart !== null) {
      x.set(data.subarray(rows.contiguousStart * features, (rows.contiguousStart + rows.count) * features));
    } else {
      for (let r = 0; r < rows.count; r++) {
        const src = rows.at(r) * features;
        x.set(data.subarray(src, src + features), r * features);
      }
    }
    return { x, n: rows.count, features };
  }

  const header = await readNpyHeader(input.path);
  const { n, features } = npyRowsAndFeatures(header, input.path);
  const rows = rowsOf(selection, n);
  if (!directlyReadable(header)) {
    // Other dtypes, byte orders and Fortran order: the general reader, then float32.
    const whole = toFloat32(await readNpy(input.path));
    const x = workspace.get(bufferName, Float32Array, rows.count * features);
    for (let r = 0; r < rows.count; r++) {
      const src = rows.at(r) * features;
      x.set(whole.subarray(src, src + features), r * features);
    }
    return { x, n: rows.count, features };
  }
  const Ctor = header.dtype === 'float64' ? Float64Array : Float32Array;
  const x = workspace.get(bufferName, Ctor, rows.count * features);
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const rowBytes = features * header.itemSize;
  const file = await openRegularFile(input.path, { what: '.npy file', maxBytes: FILE_SIZE_LIMITS.array });
  const { handle } = file;
  try {
    const readExactly = async (target: Uint8Array, position: number) => {
      let done = 0;
      while (done < target.length) {
        const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
        if (bytesRead === 0) throw new WorkbenchError('BAD_INPUT', `${input.path}: file ended early`);
        done += bytesRead;
      }
    };
    if (rows.contiguousStart !== null) {
      await readExactly(bytes, header.dataOffset + rows.contiguousStart * rowBytes);
    } else {
      for (let r = 0; r < rows.count; r++) {
        await readExactly(bytes.subarray(r * rowBytes, (r + 1) * rowBytes), header.dataOffset + rows.at(r) * rowBytes);
      }
    }
  } finally {
    await file.close();
  }
  return { x, n: rows.count, features };
}
