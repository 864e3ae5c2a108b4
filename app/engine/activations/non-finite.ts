/** The error that names a layer whose activations hold NaN or ±Inf (counted by cka/non-finite.ts). */
import { WorkbenchError } from '../../common/errors.js';
import type { NonFiniteCount } from '../cka/non-finite.js';
import type { ExtractedLayer } from './types.js';

export function nonFiniteError(layer: ExtractedLayer, count: NonFiniteCount, modelPath: string): WorkbenchError {
  return new WorkbenchError(
    'NUMERIC',
    `${modelPath}: layer '${layer.name}' (tensor ${layer.tensor}) has non-finite activations ` +
      `(${count.nan} NaN, ${count.inf} ±Inf so far; first in example ${count.firstExample})`,
    { tensor: layer.tensor, ...count },
  );
}
