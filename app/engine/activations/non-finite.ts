/**
 * NaN/±Inf detection per layer (issue 8 §3): counted while rows stream past, so a broken layer is
 * named instead of silently poisoning every similarity computed from it.
 */
import { WorkbenchError } from '../../api/errors.js';
import type { ExtractedLayer, NonFiniteCount } from './types.js';

/** Counts NaN and ±Inf in `data` (rows × features) and notes the first example that has one. */
export function scanNonFinite(
  data: Float32Array,
  features: number,
  rowOffset: number,
  into: NonFiniteCount | undefined,
): NonFiniteCount | undefined {
  let count = into;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is 0 for every finite v and NaN for NaN and ±Inf: one test on the common path.
    if (v - v === 0) continue;
    count ??= { nan: 0, inf: 0, firstExample: rowOffset + Math.floor(i / features) };
    if (Number.isNaN(v)) count.nan++;
    else count.inf++;
  }
  return count;
}

export function nonFiniteError(layer: ExtractedLayer, count: NonFiniteCount, modelPath: string): WorkbenchError {
  return new WorkbenchError(
    'NUMERIC',
    `${modelPath}: layer '${layer.name}' (tensor ${layer.tensor}) has non-finite activations ` +
      `(${count.nan} NaN, ${count.inf} ±Inf so far; first in example ${count.firstExample})`,
    { tensor: layer.tensor, ...count },
  );
}
