/** How results name a measure. */
import type { MeasureInfo } from './contract.js';

/** A stable text for a measure (`linear`, `rbf(threshold=0.4)`) to group matrices by. */
export function measureLabel(measure: MeasureInfo): string {
  const params = Object.entries(measure.params)
    .filter(([k]) => k !== 'batches' && k !== 'droppedExamples')
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return params ? `${measure.name}(${params})` : measure.name;
}
