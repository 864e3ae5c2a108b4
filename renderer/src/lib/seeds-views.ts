/**
 * What a seeds result can show — the mean or the standard deviation over all ordered pairs of
 * seeds, or any one ordered pair — as heatmap data, with the sanity check each view states (the
 * engine's accuracy: the headline's own number and definition). Pure: tested without a page.
 */
import type { ExperimentResult, SeedsSummary, SimilarityMatrix } from '@common/contract.js';
import { modelLetter } from '@common/figures/names.js';
import { measureLabel } from '@common/measures.js';
import { pairMatrix, resultMeasures } from '@common/result-pairs.js';
import { heatmapFromSeeds, heatmapFromSimilarity, type HeatmapData } from '../charts/heatmap-data.js';

export type SeedsShow = { kind: 'mean' } | { kind: 'std' } | { kind: 'pair'; rows: number; cols: number };

export interface SeedsView {
  data: HeatmapData;
  /** The pair's matrix (pair views), for the JSON export. */
  matrix: SimilarityMatrix | null;
  /** The sanity check of what is shown; null for the spread. */
  sanity: { fraction: number; over: string } | null;
}

/** The accuracy of one ordered pair, as the per-pair table shows it (NaN when the run has no such pair). */
export function pairAccuracy(summary: SeedsSummary, rows: number, cols: number): number {
  return summary.accuracyPerPair.find((p) => p.rowModel === rows && p.colModel === cols)?.accuracy ?? NaN;
}

/** Index of the summary's measure among the result's measures (what exports of a pair name). */
export function measureIndex(result: ExperimentResult, summary: SeedsSummary): number {
  return resultMeasures(result).findIndex((m) => measureLabel(m) === measureLabel(summary.measure));
}

export function seedsView(result: ExperimentResult, summary: SeedsSummary, show: SeedsShow): SeedsView | null {
  const pairs = summary.accuracyPerPair.length;
  if (show.kind === 'pair') {
    const matrix = pairMatrix(result, show.rows, show.cols, summary.measure);
    if (!matrix) return null;
    const fraction = pairAccuracy(summary, show.rows, show.cols);
    return {
      data: heatmapFromSimilarity(matrix),
      matrix,
      sanity: Number.isNaN(fraction)
        ? null
        : {
            fraction,
            over: `(layers of ${modelLetter(show.rows)} against ${modelLetter(show.cols)}; logits left out, as in the table)`,
          },
    };
  }
  return {
    data: heatmapFromSeeds(summary, result.models, result.probe.n, show.kind),
    matrix: null,
    sanity:
      show.kind === 'mean'
        ? {
            fraction: summary.accuracy,
            over: `over both directions and all ${pairs} ordered pairs of seeds (logits left out; the headline's number)`,
          }
        : null,
  };
}

/** Every ordered pair (i, j ≠ i) of the result's models, rows first. */
export function orderedPairs(models: number): { rows: number; cols: number }[] {
  const out: { rows: number; cols: number }[] = [];
  for (let i = 0; i < models; i++) for (let j = 0; j < models; j++) if (i !== j) out.push({ rows: i, cols: j });
  return out;
}
