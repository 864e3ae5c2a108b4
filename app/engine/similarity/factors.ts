/**
 * The CCA-family measures and Procrustes over the compute pool: each distinct layer's factors once
 * (a thin float64 SVD, compute/layer-factors.ts), then one task per pair of distinct layers
 * (compute/baseline-pairs.ts) for every measure and every direction needed. Results have the same
 * shape as CKA's; asymmetric measures can also return the comparison the other way round
 * (`mirror`), which is not the transpose for them.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { Outcome } from '../cka/cca-family.js';
import type { LayerFactors } from '../cka/layer-factors.js';
import { describeMeasure, isAsymmetric } from '../cka/measures.js';
import type { BaselineMeasure, CkaResult, UndefinedCell } from '../cka/types.js';
import type { ComputePool } from '../compute/pool.js';
import { intraOpThreadsFor } from './grams.js';
import { checkSameExamples, distinctSources, type ResolvedSource } from './sources.js';
import type { RunOptions } from './types.js';

export type { LayerFactors } from '../cka/layer-factors.js';

/** Each layer's factors, computed once in the pool. */
export async function computeLayerFactors(
  pool: ComputePool,
  sources: readonly ResolvedSource[],
  run: RunOptions,
): Promise<LayerFactors[]> {
  const intraOpThreads = intraOpThreadsFor(sources.length, pool.threads);
  let done = 0;
  return Promise.all(
    sources.map(async (source) => {
      const factors = await pool.run<'factors'>(
        { kind: 'factors', input: source.input, layer: source.layer, intraOpThreads },
        run.signal,
      );
      run.onProgress?.({ stage: 'factors', done: ++done, total: sources.length, layer: source.layer.name });
      return factors;
    }),
  );
}

export interface CompareFactorsOptions extends RunOptions {
  /** Also compute each asymmetric measure with X = the column layer (`CkaResult.mirror`). */
  mirror?: boolean;
}

/** rows × cols for each measure from the layers' factors; the same factors object on both sides is one layer. */
export async function compareFactors(
  pool: ComputePool,
  rows: readonly LayerFactors[],
  cols: readonly LayerFactors[],
  measures: readonly BaselineMeasure[],
  options: CompareFactorsOptions = {},
): Promise<CkaResult[]> {
  const started = performance.now();
  if (rows.length === 0 || cols.length === 0) throw new WorkbenchError('BAD_INPUT', 'no layers to compare');
  const n = checkSameExamples([
    { side: 'row', sources: rows.map((f) => ({ layer: f.layer, n: f.n })) },
    { side: 'column', sources: cols.map((f) => ({ layer: f.layer, n: f.n })) },
  ]);
  const { distinct, rowIndex, colIndex } = distinctSources(rows, cols);
  const mirror = options.mirror === true && measures.some(isAsymmetric);
  // ordered pairs (X = a, Y = b) wanted, grouped by unordered pair: one task computes both ways
  const wanted = new Set<string>();
  for (const a of rowIndex) {
    for (const b of colIndex) {
      wanted.add(`${a},${b}`);
      if (mirror) wanted.add(`${b},${a}`);
    }
  }
  const tasks = new Map<string, { a: number; b: number; backward: boolean }>();
  for (const key of wanted) {
    const [a, b] = key.split(',').map(Number) as [number, number];
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const group = `${lo},${hi}`;
    const task = tasks.get(group);
    if (!task) tasks.set(group, { a, b, backward: false });
    else if (task.a !== a || task.b !== b) task.backward = true;
  }
  const intraOpThreads = intraOpThreadsFor(tasks.size, pool.threads);
  const outcomes = new Map<string, Outcome[]>();
  let done = 0;
  await Promise.all(
    [...tasks.values()].map(async ({ a, b, backward }) => {
      const result = await pool.run<'baselinePair'>(
        { kind: 'baselinePair', a: distinct[a]!, b: distinct[b]!, measures: [...measures], backward, intraOpThreads },
        options.signal,
      );
      outcomes.set(`${a},${b}`, result.forward);
      if (result.backward) outcomes.set(`${b},${a}`, result.backward);
      options.onProgress?.({ stage: 'baselines', done: ++done, total: tasks.size });
    }),
  );
  const grid = (m: number, rowIdx: readonly number[], colIdx: readonly number[]) => {
    const matrix: (number | null)[][] = [];
    const undefinedCells: UndefinedCell[] = [];
    rowIdx.forEach((a, row) => {
      matrix.push(
        colIdx.map((b, col) => {
          const outcome = outcomes.get(`${a},${b}`)![m]!;
          if (outcome.reason !== null) undefinedCells.push({ row, col, reason: outcome.reason });
          return outcome.value;
        }),
      );
    });
    return { matrix, undefined: undefinedCells };
  };
  const ms = performance.now() - started;
  return measures.map((measure, m) => {
    const { matrix, undefined: undefinedCells } = grid(m, rowIndex, colIndex);
    const result: CkaResult = {
      measure: describeMeasure(measure),
      n,
      rows: rows.map((f) => f.layer),
      cols: cols.map((f) => f.layer),
      matrix,
      undefined: undefinedCells,
      form: 'factors',
      timings: { pairs: ms, total: ms },
    };
    if (mirror && isAsymmetric(measure)) result.mirror = grid(m, colIndex, rowIndex);
    return result;
  });
}
