/**
 * Several pairs of models compared with one call of the CKA core: rows are the concatenated
 * layers of every row model, columns those of every column model, so each layer's kernels (RBF
 * ones included) are derived once and every HSIC comes from one stacked product; each pair's
 * matrix is then a block of the big one. The same Gram object on both sides is one layer.
 */
import type {
  BaselineMeasure,
  BootstrapOptions,
  CkaEngine,
  CkaResult,
  LayerFactors,
  LayerGram,
  Measure,
  RunOptions,
} from '../similarity/index.js';
import { sliceResult } from './matrices.js';
import type { PlannedPair } from './plan.js';

function uniqueSorted(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function offsets(models: readonly number[], layers: (m: number) => number): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  let at = 0;
  for (const m of models) {
    out.set(m, [at, at + layers(m)]);
    at += layers(m);
  }
  return out;
}

/**
 * Exact measures of `pairs`: for each pair (in order) one result per measure (in order).
 * `grams(models)` gives each listed model's layer Grams (held together in memory).
 */
export async function compareGramPairs(
  cka: CkaEngine,
  pairs: readonly PlannedPair[],
  measures: readonly Measure[],
  grams: (models: readonly number[]) => Promise<LayerGram[][]>,
  run: RunOptions & { bootstrap?: BootstrapOptions },
): Promise<CkaResult[][]> {
  const rowModels = uniqueSorted(pairs.map((p) => p.row));
  const colModels = uniqueSorted(pairs.map((p) => p.col));
  const involved = uniqueSorted([...rowModels, ...colModels]);
  const byModel = new Map(involved.map((m, i) => [m, i] as const));
  const held = await grams(involved);
  const of = (m: number) => held[byModel.get(m)!]!;
  const rowOffsets = offsets(rowModels, (m) => of(m).length);
  const colOffsets = offsets(colModels, (m) => of(m).length);
  const sameSides = rowModels.length === colModels.length && rowModels.every((m, i) => colModels[i] === m);
  const results = await cka.compareGrams(
    rowModels.flatMap(of),
    sameSides ? null : colModels.flatMap(of),
    measures,
    run,
  );
  return pairs.map((p) => results.map((r) => sliceResult(r, rowOffsets.get(p.row)!, colOffsets.get(p.col)!)));
}

/**
 * The CCA-family measures of `pairs`, as compareGramPairs does for CKA: one call over the
 * concatenated layers; `mirror` also computes the asymmetric measures the other way round.
 */
export async function compareFactorPairs(
  cka: CkaEngine,
  pairs: readonly PlannedPair[],
  measures: readonly BaselineMeasure[],
  factors: (models: readonly number[]) => Promise<LayerFactors[][]>,
  run: RunOptions & { mirror: boolean },
): Promise<CkaResult[][]> {
  const rowModels = uniqueSorted(pairs.map((p) => p.row));
  const colModels = uniqueSorted(pairs.map((p) => p.col));
  const involved = uniqueSorted([...rowModels, ...colModels]);
  const byModel = new Map(involved.map((m, i) => [m, i] as const));
  const held = await factors(involved);
  const of = (m: number) => held[byModel.get(m)!]!;
  const rowOffsets = offsets(rowModels, (m) => of(m).length);
  const colOffsets = offsets(colModels, (m) => of(m).length);
  const sameSides = rowModels.length === colModels.length && rowModels.every((m, i) => colModels[i] === m);
  const results = await cka.compareFactors(
    rowModels.flatMap(of),
    sameSides ? null : colModels.flatMap(of),
    measures,
    run,
  );
  return pairs.map((p) => results.map((r) => sliceResult(r, rowOffsets.get(p.row)!, colOffsets.get(p.col)!)));
}
