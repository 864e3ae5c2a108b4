/**
 * Shared memory for what several threads read: per-layer Grams and kernels, activations handed in
 * by the caller, bootstrap weights. Allocation failures become OUT_OF_MEMORY errors instead of a
 * crash.
 */
import { WorkbenchError } from '../../common/errors.js';
import { dtypeOf, type ComputeDType } from './onnx-graph.js';

export function isShared(array: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && array.buffer instanceof SharedArrayBuffer;
}

function allocate(bytes: number, what: string): SharedArrayBuffer {
  try {
    return new SharedArrayBuffer(bytes);
  } catch (err) {
    throw new WorkbenchError(
      'OUT_OF_MEMORY',
      `could not allocate ${(bytes / 2 ** 20).toFixed(0)} MiB for ${what} (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** `bytes` of shared memory (an OUT_OF_MEMORY error when they cannot be had). */
export function sharedBytes(bytes: number, what: string): SharedArrayBuffer {
  return allocate(bytes, what);
}

export function sharedFloat64(length: number, what: string): Float64Array {
  return new Float64Array(allocate(length * 8, what));
}

export function sharedFloat32(length: number, what: string): Float32Array {
  return new Float32Array(allocate(length * 4, what));
}

/** `length` values of `dtype` in shared memory. */
export function sharedArray(dtype: ComputeDType, length: number, what: string): Float32Array | Float64Array {
  return dtype === 'float64' ? sharedFloat64(length, what) : sharedFloat32(length, what);
}

/** A shared copy of `data` (or `data` itself when it already lives in shared memory). */
export function toShared<T extends Float32Array | Float64Array>(data: T, what: string): T {
  if (isShared(data)) return data;
  const copy = sharedArray(dtypeOf(data), data.length, what);
  copy.set(data);
  return copy as T;
}
