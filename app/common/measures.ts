/** How results, figures and views name a measure. */
import type { MeasureInfo } from './contract.js';

/**
 * A measure with the parameters that change its values, "rbf(threshold=0.4)": tells apart two
 * measures of one result (keys, file names). How many batches a minibatch run made, or how many
 * examples it dropped, describe the run rather than the measure, so they are left out.
 */
export function measureLabel(measure: MeasureInfo): string {
  const params = Object.entries(measure.params)
    .filter(([k]) => k !== 'batches' && k !== 'droppedExamples')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return params ? `${measure.name}(${params})` : measure.name;
}

/** A measure for people: "linear CKA", "RBF CKA (threshold 0.4)". */
export function measureTitle(measure: MeasureInfo): string {
  switch (measure.name) {
    case 'linear':
      return 'linear CKA';
    case 'debiased':
      return 'debiased CKA';
    case 'rbf':
      return measure.params.threshold === undefined ? 'RBF CKA' : `RBF CKA (threshold ${measure.params.threshold})`;
    case 'minibatch':
      return measure.params.batchSize === undefined
        ? 'minibatch CKA'
        : `minibatch CKA (batch ${measure.params.batchSize})`;
  }
}
