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

/** What a value of the measure is, for people: "linear CKA", "RBF CKA (threshold 0.4)", "SVCCA ρ̄ (keep 0.99)". */
export function measureTitle(measure: MeasureInfo): string {
  const p = measure.params;
  switch (measure.name) {
    case 'linear':
      return 'linear CKA';
    case 'debiased':
      return p.rbfThreshold === undefined ? 'debiased CKA' : `debiased RBF CKA (threshold ${p.rbfThreshold})`;
    case 'rbf':
      return p.threshold === undefined ? 'RBF CKA' : `RBF CKA (threshold ${p.threshold})`;
    case 'minibatch':
      return p.batchSize === undefined ? 'minibatch CKA' : `minibatch CKA (batch ${p.batchSize})`;
    case 'cca':
      return 'CCA ρ̄';
    case 'cca-r2':
      return 'CCA R²';
    case 'svcca':
    case 'svcca-r2': {
      const what = measure.name === 'svcca' ? 'SVCCA ρ̄' : 'SVCCA R²';
      return p.keep === undefined ? what : `${what} (keep ${p.keep})`;
    }
    case 'pwcca':
      return 'PWCCA';
    case 'linreg':
      return 'linear regression R²';
    case 'procrustes':
      return 'Procrustes';
  }
}
