/**
 * The experiment form's summary line: everything the run will do, in one line — models, measures,
 * probe (with its size once checked), the bootstrap and the other options when set.
 */
import type { ExperimentSpec } from '@common/contract.js';
import { formatCount } from '@common/figures/names.js';

export function specSummary(spec: ExperimentSpec, probeExamples: number | null): string[] {
  const parts = [
    `${spec.models.length} model${spec.models.length === 1 ? '' : 's'}`,
    spec.measures.join(', '),
    `${spec.probe}${probeExamples === null ? '' : ` (${formatCount(probeExamples)} examples)`}`,
  ];
  const { bootstrap, batchSize, threads, memoryBudgetMiB } = spec.options ?? {};
  if (bootstrap) {
    const level = bootstrap.level === undefined ? '' : `, ${Math.round(bootstrap.level * 100)}% intervals`;
    parts.push(`bootstrap: ${formatCount(bootstrap.samples)} samples, seed ${bootstrap.seed}${level}`);
  } else {
    parts.push('no bootstrap');
  }
  if (batchSize !== undefined) parts.push(`batch ${formatCount(batchSize)}`);
  if (threads !== undefined) parts.push(`${threads} thread${threads === 1 ? '' : 's'}`);
  if (memoryBudgetMiB !== undefined) parts.push(`memory ${formatCount(memoryBudgetMiB)} MiB`);
  return parts;
}
