/**
 * How many bytes extracting activations (and computing Grams from them) writes to disk: the one
 * estimate every writer checks against free space and the cache limit before it starts (see
 * io/disk-space.ts checkRoomToWrite). Exact up to headers: a layer's activations are a float32
 * [n, features] .npy, its Gram a packed [n(n+1)/2] .npy (float32 when computed in float32, see
 * similarity/gram-cache.ts; else float64) with a small .json beside it.
 */
import { formatSize } from '../../common/sizes.js';
import type { WriteEstimate } from '../io/disk-space.js';

/** An .npy header (numpy pads it to 64 or 128 bytes; room for a long shape). */
const NPY_HEADER_BYTES = 256;
/** A Gram's .json metadata (layer names, n, format): well under this. */
const GRAM_METADATA_BYTES = 4096;

/** One layer's activations on disk: float32 [n, features]. */
export function activationFileBytes(n: number, features: number): number {
  return NPY_HEADER_BYTES + n * features * 4;
}

/** One layer's Gram in the cache: the packed upper triangle, n(n+1)/2 values, and its metadata. */
export function gramFileBytes(n: number, bytesPerValue: 4 | 8 = 8): number {
  return NPY_HEADER_BYTES + ((n * (n + 1)) / 2) * bytesPerValue + GRAM_METADATA_BYTES;
}

/** A layer to extract: its values per row, and its rows when they are not the n examples (`tokens`). */
export type LayerWrite = number | { rows: number; features: number };

/**
 * What writing `activations` (each layer to extract: values per example, or rows and values per
 * row) and `grams` more Grams (of `gramBytesPerValue` bytes a value), for n examples, comes to.
 */
export function estimateWrites(
  n: number,
  activations: readonly LayerWrite[],
  grams = 0,
  gramBytesPerValue: 4 | 8 = 8,
): WriteEstimate {
  let activationBytes = 0;
  for (const layer of activations) {
    activationBytes +=
      typeof layer === 'number' ? activationFileBytes(n, layer) : activationFileBytes(layer.rows, layer.features);
  }
  const gramBytes = grams * gramFileBytes(n, gramBytesPerValue);
  const parts: string[] = [];
  if (activations.length > 0) {
    const layers = `${activations.length} layer${activations.length === 1 ? '' : 's'}`;
    parts.push(`activations of ${layers} × ${n.toLocaleString('en-US')} examples, ${formatSize(activationBytes)}`);
  }
  if (grams > 0)
    parts.push(`${grams} Gram${grams === 1 ? '' : 's'} of ${n.toLocaleString('en-US')}², ${formatSize(gramBytes)}`);
  return { bytes: activationBytes + gramBytes, what: parts.join('; ') || 'nothing', activationBytes, gramBytes };
}
