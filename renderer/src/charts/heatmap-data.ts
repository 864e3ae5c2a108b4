/**
 * What a heatmap draws, independent of where it came from (one similarity matrix, the mean of a
 * seeds experiment, …): two labelled axes, a row-major grid of values with NaN where a value is
 * undefined, the reasons for those, and optional intervals and spreads for the tooltip.
 */
import type { ResultModel, SeedsSummary, SimilarityMatrix } from '@common/contract.js';
import { seedsFigure, similarityFigure, type FigureAxis, type SeedsStatistic } from '@common/figures/matrix-figure.js';

export interface HeatmapAxis {
  /** Which model this axis shows, e.g. "model A: resnet18.onnx". */
  title: string;
  /** Layer names for people, one per row/column. */
  labels: readonly string[];
  /** Layer ids (ONNX tensor names), one per row/column. */
  ids: readonly string[];
}

export interface HeatmapData {
  rows: HeatmapAxis;
  cols: HeatmapAxis;
  /** rows × cols, row-major; NaN where the value is undefined. */
  values: Float64Array;
  /** Why a cell has no value, by row-major index. */
  reasons: ReadonlyMap<number, string>;
  /** Bootstrap interval per cell (NaN where there is none). */
  interval: { lo: Float64Array; hi: Float64Array; level: number; samples: number } | null;
  /** A spread shown with each value (seeds: the standard deviation over pairs). */
  spread: { values: Float64Array; label: string } | null;
  /** What a value is, e.g. "linear CKA" (the colour bar's label). */
  measure: string;
  /** The figure's title: what is compared, the measure, over how many examples. */
  title: string;
  /** Examples the values are computed over, where one number applies. */
  n: number | null;
}

export const rowCount = (data: HeatmapData): number => data.rows.labels.length;
export const colCount = (data: HeatmapData): number => data.cols.labels.length;

/** A rows × cols grid of numbers and nulls as a flat Float64Array with NaN for null. */
export function flattenGrid(grid: readonly (readonly (number | null)[])[], rows: number, cols: number): Float64Array {
  if (grid.length !== rows || grid.some((row) => row.length !== cols)) {
    throw new Error(`the matrix is not ${rows} × ${cols} as its layer lists say`);
  }
  const flat = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = grid[r]!;
    for (let c = 0; c < cols; c++) flat[r * cols + c] = row[c] ?? NaN;
  }
  return flat;
}

/** Titles and names come from the figure the exports draw, so screen and files say the same. */
export function heatmapFromSimilarity(matrix: SimilarityMatrix): HeatmapData {
  const figure = similarityFigure(matrix);
  const rows = matrix.rows.layers.length;
  const cols = matrix.cols.layers.length;
  const reasons = new Map<number, string>();
  for (const cell of matrix.undefined) reasons.set(cell.row * cols + cell.col, cell.reason);
  return {
    rows: axisOf(figure.rows, matrix.rows.layers),
    cols: axisOf(figure.cols, matrix.cols.layers),
    values: flattenGrid(matrix.matrix, rows, cols),
    reasons,
    interval: matrix.ci
      ? {
          lo: flattenGrid(matrix.ci.lo, rows, cols),
          hi: flattenGrid(matrix.ci.hi, rows, cols),
          level: matrix.ci.level,
          samples: matrix.ci.samples,
        }
      : null,
    spread: null,
    measure: figure.valueLabel,
    title: figure.title,
    n: matrix.n,
  };
}

/**
 * The mean (or the standard deviation) over all ordered pairs of seed models (i, j ≠ i): rows are
 * layers of model i, columns layers of model j, both named as in model A (the seeds share one
 * architecture). The mean carries the standard deviation for the tooltip.
 */
export function heatmapFromSeeds(
  summary: SeedsSummary,
  models: readonly ResultModel[],
  n: number,
  statistic: SeedsStatistic = 'mean',
): HeatmapData {
  const figure = seedsFigure({ summary, models, n, statistic });
  const layers = models[0]!.layers;
  const size = layers.length;
  const mean = flattenGrid(summary.mean, size, size);
  const std = flattenGrid(summary.std, size, size);
  const values = statistic === 'mean' ? mean : std;
  const reasons = new Map<number, string>();
  for (const cell of summary.undefined ?? []) {
    reasons.set(cell.row * size + cell.col, `in every pair of seeds — ${cell.reason}`);
  }
  values.forEach((v, i) => {
    if (!Number.isNaN(v) || reasons.has(i)) return;
    reasons.set(
      i,
      Number.isNaN(mean[i]!)
        ? 'undefined for every pair of seeds (e.g. a constant layer)'
        : 'no spread for this pair of layers',
    );
  });
  return {
    rows: axisOf(figure.rows, layers),
    cols: axisOf(figure.cols, layers),
    values,
    reasons,
    interval: null,
    spread: statistic === 'mean' ? { values: std, label: 'std over pairs' } : null,
    measure: figure.valueLabel,
    title: figure.title,
    n,
  };
}

function axisOf(axis: FigureAxis, layers: readonly { tensor: string }[]): HeatmapAxis {
  return { title: axis.title, labels: axis.labels, ids: layers.map((l) => l.tensor) };
}

/** Four decimals: CKA values differ meaningfully in the second or third. */
export function formatValue(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : '—';
}

/** The same comparison seen from the other side: rows and columns swapped. */
export function transposeHeatmap(data: HeatmapData): HeatmapData {
  const rows = data.rows.labels.length;
  const cols = data.cols.labels.length;
  const swap = (values: Float64Array) => {
    const out = new Float64Array(values.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
    return out;
  };
  const reasons = new Map<number, string>();
  for (const [index, reason] of data.reasons) {
    reasons.set((index % cols) * rows + Math.floor(index / cols), reason);
  }
  return {
    ...data,
    rows: data.cols,
    cols: data.rows,
    values: swap(data.values),
    reasons,
    interval: data.interval ? { ...data.interval, lo: swap(data.interval.lo), hi: swap(data.interval.hi) } : null,
    spread: data.spread ? { ...data.spread, values: swap(data.spread.values) } : null,
  };
}
