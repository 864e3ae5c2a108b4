/**
 * Linear CKA in feature space (compute/feature-products.ts) for layers with few features: no
 * Grams at all, one cross-covariance product for every pair. `featureFormIsCheaper` decides.
 */
import { WorkbenchError } from '../../common/errors.js';
import { constantReason, ckaFromTraces, nonFiniteReason } from '../cka/cka-matrix.js';
import { describeMeasure } from '../cka/measures.js';
import type { CkaResult } from '../cka/types.js';
import type { ComputeDType } from '../compute/onnx-graph.js';
import type { ComputePool } from '../compute/pool.js';
import { checkSameExamples, distinctSources, type ResolvedSource } from './sources.js';
import type { GramPrecision, RunOptions } from './types.js';

/** Σp² (one n×Σp by Σp product) against the Grams' Σ n²p/2 (plus their n² HSIC stack). */
export function featureFormIsCheaper(n: number, featureCounts: readonly number[]): boolean {
  const total = featureCounts.reduce((a, b) => a + b, 0);
  const featureCost = n * total * total;
  const gramCost = featureCounts.reduce((sum, p) => sum + (n * n * p) / 2 + n * n, 0);
  return featureCost < gramCost && total <= 8192;
}

export async function compareLinearFeatureSpace(
  pool: ComputePool,
  rows: readonly ResolvedSource[],
  cols: readonly ResolvedSource[],
  precision: GramPrecision,
  run: RunOptions,
): Promise<CkaResult> {
  const started = performance.now();
  const n = checkSameExamples([
    { side: 'row', sources: rows },
    { side: 'column', sources: cols },
  ]);
  if (n < 2) throw new WorkbenchError('BAD_INPUT', `CKA needs at least 2 examples, got n = ${n}`);
  const { distinct, rowIndex, colIndex } = distinctSources(rows, cols);
  const dtype: ComputeDType =
    precision === 'auto' ? (distinct.some((s) => s.dtype === 'float64') ? 'float64' : 'float32') : precision;
  const threads = pool.threads;
  const out = await pool.run<'features'>(
    { kind: 'features', layers: distinct.map((s) => s.input), precision: dtype, intraOpThreads: threads },
    run.signal,
  );
  run.onProgress?.({ stage: 'hsic', done: 1, total: 1 });
  const refs = distinct.map((s) => s.layer);
  const problems = refs.map((layer, u) => {
    const where = out.nonFinite[u];
    if (where) return nonFiniteReason(layer, where);
    return out.constant[u] ? constantReason(layer) : null;
  });
  const { matrix, undefined: undefinedCells } = ckaFromTraces(
    out.products,
    distinct.length,
    refs,
    rowIndex,
    colIndex,
    problems,
  );
  const ms = performance.now() - started;
  return {
    measure: describeMeasure({ name: 'linear' }),
    n,
    rows: rows.map((s) => s.layer),
    cols: cols.map((s) => s.layer),
    matrix,
    undefined: undefinedCells,
    form: 'features',
    timings: { hsic: ms, total: ms },
  };
}
