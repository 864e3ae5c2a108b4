/**
 * The seeds summary (Kornblith et al. 2019, §6.1 "sanity check"): k trainings of one architecture,
 * compared pair by pair. Per measure:
 *
 * - mean and standard deviation, cell by cell, over the k(k−1) ordered pairs' matrices (the
 *   (j, i) matrix is the transpose of (i, j), so the mean is symmetric); the std is the sample
 *   standard deviation (n − 1), null with fewer than two defined values;
 * - accuracy: for each ordered pair (i, j) and each layer r of model i, is the most similar layer
 *   of model j the corresponding one (same position in the two layer lists, which the planner
 *   checked have the same ops)? Both directions come from the two orders of a pair. The logits
 *   are left out as queries and as candidates (they are trained to agree; the check is about
 *   the representations). A layer whose row has no defined value counts as a miss.
 *   Asymmetric measures (pwcca, linreg) are symmetrised for it, as the paper does for Table 2:
 *   S(Aᵢ, Bⱼ) = m(Aᵢ, Bⱼ) + m(Bⱼ, Aᵢ), i.e. the (i, j) matrix plus the (j, i) one transposed
 *   (undefined where either is); the mean and spread stay those of m itself;
 * - cells undefined in every pair keep the reason the first pair gave.
 */
import type { MeasureInfo, SeedsSummary, SimilarityMatrix, UndefinedCell } from '../../common/contract.js';
import { measureLabel } from '../../common/measures.js';
import { isAsymmetric } from '../similarity/index.js';

export interface SeedsLayout {
  /** Layers per model (all models have the same number). */
  layers: number;
  /** Positions of the logits (left out of the accuracy). */
  excluded: ReadonlySet<number>;
}

/** Index of the largest defined value among `candidates`, or -1; ties go to the first. */
function bestMatch(row: readonly (number | null)[], candidates: readonly number[]): number {
  let best = -1;
  let bestValue = -Infinity;
  for (const c of candidates) {
    const v = row[c];
    if (v === null || v === undefined || Number.isNaN(v)) continue;
    if (v > bestValue) {
      bestValue = v;
      best = c;
    }
  }
  return best;
}

export function pairAccuracy(m: Pick<SimilarityMatrix, 'matrix'>, layout: SeedsLayout): number {
  const kept = Array.from({ length: layout.layers }, (_, i) => i).filter((i) => !layout.excluded.has(i));
  if (kept.length === 0) return NaN;
  let hits = 0;
  for (const r of kept) if (bestMatch(m.matrix[r]!, kept) === r) hits++;
  return hits / kept.length;
}

/** m(Aᵢ, Bⱼ) + m(Bⱼ, Aᵢ) from the (i, j) matrix and the (j, i) one; null where either is. */
export function symmetrised(forward: SimilarityMatrix, backward: SimilarityMatrix): (number | null)[][] {
  return forward.matrix.map((row, r) =>
    row.map((v, c) => {
      const w = backward.matrix[c]?.[r];
      return v === null || w === null || w === undefined ? null : v + w;
    }),
  );
}

function cellStats(values: number[]): { mean: number | null; std: number | null } {
  if (values.length === 0) return { mean: null, std: null };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: null };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

/**
 * One summary per measure, in the order the measures first appear, over the cross-model matrices
 * among `matrices` (rows.model ≠ cols.model). Measures without a single cross matrix are left out.
 */
export function seedsSummaries(matrices: readonly SimilarityMatrix[], layout: SeedsLayout): SeedsSummary[] {
  const byMeasure = new Map<string, { measure: MeasureInfo; list: SimilarityMatrix[] }>();
  for (const m of matrices) {
    if (m.rows.model === m.cols.model) continue;
    const key = measureLabel(m.measure);
    let group = byMeasure.get(key);
    if (!group) byMeasure.set(key, (group = { measure: m.measure, list: [] }));
    group.list.push(m);
  }
  const summaries: SeedsSummary[] = [];
  for (const { measure, list } of byMeasure.values()) {
    const size = layout.layers;
    const mean: (number | null)[][] = [];
    const std: (number | null)[][] = [];
    for (let r = 0; r < size; r++) {
      mean.push([]);
      std.push([]);
      for (let c = 0; c < size; c++) {
        const values = list
          .map((m) => m.matrix[r]?.[c])
          .filter((v): v is number => typeof v === 'number' && !Number.isNaN(v));
        const stats = cellStats(values);
        mean[r]!.push(stats.mean);
        std[r]!.push(stats.std);
      }
    }
    const asymmetric = isAsymmetric(measure);
    const accuracyPerPair = list.map((m) => {
      const back = asymmetric
        ? list.find((o) => o.rows.model === m.cols.model && o.cols.model === m.rows.model)
        : undefined;
      return {
        rowModel: m.rows.model,
        colModel: m.cols.model,
        accuracy: pairAccuracy(back ? { matrix: symmetrised(m, back) } : m, layout),
      };
    });
    const accuracy = accuracyPerPair.reduce((a, p) => a + p.accuracy, 0) / accuracyPerPair.length;
    const summary: SeedsSummary = { measure, mean, std, accuracy, accuracyPerPair };
    const reasons = reasonsOfEmptyCells(mean, list);
    if (reasons.length > 0) summary.undefined = reasons;
    if (asymmetric) summary.symmetrised = true;
    summaries.push(summary);
  }
  return summaries;
}

/** Cells with no value in any pair, with the reason the first pair that has one gave. */
function reasonsOfEmptyCells(mean: (number | null)[][], list: readonly SimilarityMatrix[]): UndefinedCell[] {
  const out: UndefinedCell[] = [];
  mean.forEach((row, r) =>
    row.forEach((v, c) => {
      if (v !== null) return;
      for (const m of list) {
        const found = m.undefined.find((u) => u.row === r && u.col === c);
        if (found) {
          out.push({ row: r, col: c, reason: found.reason });
          return;
        }
      }
    }),
  );
  return out;
}
