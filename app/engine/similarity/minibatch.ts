/**
 * Minibatch CKA over random-access sources (arrays, `.npy` files): consecutive batches of b
 * examples in probe order, or in a seeded shuffled order; one pool task per batch reads only that
 * batch's rows of every layer, so memory stays O(layers · b²) plus one batch of activations per
 * thread, whatever n is.
 */
import { WorkbenchError } from '../../common/errors.js';
import { seededPermutation } from '../cka/rng.js';
import type { BootstrapOptions, CkaResult, MinibatchMeasure } from '../cka/types.js';
import type { ActivationInput, RowSelection } from '../compute/activations-in.js';
import type { ComputePool } from '../compute/pool.js';
import { MinibatchSums } from './minibatch-sums.js';
import { checkSameExamples, distinctSources, type ResolvedSource } from './sources.js';
import type { GramPrecision, RunOptions } from './types.js';

export interface MinibatchOptions extends RunOptions {
  bootstrap?: BootstrapOptions;
  precision: GramPrecision;
}

export function batchPlan(n: number, measure: MinibatchMeasure): { batchCount: number; droppedExamples: number } {
  const b = measure.batchSize;
  if (!Number.isInteger(b) || b < 4) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `minibatch CKA needs a batch size of at least 4 (HSIC₁ divides by b(b−3)), got ${b}`,
    );
  }
  if (n < b)
    throw new WorkbenchError(
      'BAD_INPUT',
      `minibatch CKA with batches of ${b} needs at least ${b} examples, got n = ${n}`,
    );
  const batchCount = Math.floor(n / b);
  return { batchCount, droppedExamples: n - batchCount * b };
}

export async function compareMinibatch(
  pool: ComputePool,
  rows: readonly ResolvedSource[],
  cols: readonly ResolvedSource[],
  measure: MinibatchMeasure,
  options: MinibatchOptions,
): Promise<CkaResult> {
  const started = performance.now();
  const n = checkSameExamples([
    { side: 'row', sources: rows },
    { side: 'column', sources: cols },
  ]);
  const { batchCount, droppedExamples } = batchPlan(n, measure);
  const { distinct, rowIndex, colIndex } = distinctSources(rows, cols);
  const inputs: ActivationInput[] = distinct.map((s) => s.input);
  const b = measure.batchSize;
  const order = measure.shuffleSeed === undefined ? null : seededPermutation(n, measure.shuffleSeed);
  const sums = new MinibatchSums(distinct.map((s) => s.layer));
  let done = 0;
  await Promise.all(
    Array.from({ length: batchCount }, async (_, t) => {
      const selection: RowSelection = order ? { indices: order.slice(t * b, (t + 1) * b) } : { start: t * b, count: b };
      const batch = await pool.run<'batch'>(
        { kind: 'batch', layers: inputs, selection, precision: options.precision, intraOpThreads: 1 },
        options.signal,
      );
      sums.add(t, batch, (j) => (order ? order[t * b + j]! : t * b + j));
      options.onProgress?.({ stage: 'minibatch', done: ++done, total: batchCount });
    }),
  );
  const minibatchMs = performance.now() - started;
  return sums.result(measure, rowIndex, colIndex, batchCount, droppedExamples, options.bootstrap, {
    minibatch: minibatchMs,
    total: performance.now() - started,
  });
}
