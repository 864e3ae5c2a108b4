/**
 * What a heatmap draws, independent of where it came from (one similarity matrix, the mean of a
 * seeds experiment, …): two labelled axes, a row-major grid of values with NaN where a value is
 * undefined, the reasons for those, and optional intervals and spreads for the tooltip.
 */
import type { MeasureInfo, ResultModel, SeedsSummary, SimilarityMatrix } from '@common/contract.js';
import { measureTitle } from '@common/measures.js';
import { modelTitle } from '../lib/model-names.js';

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
  /** What a value is, e.g. "linear CKA". */
  measure: string;
  /** Examples the values are computed over, where one number applies. */
  n: number | null;
}

export const rowCount = (data: HeatmapData): number => data.rows.labels.length;
export const colCount = (data: HeatmapData): number => data.cols.labels.length;

/** What a value is, e.g. "linear CKA", "PWCCA" (the engine's exports use the same words). */
export function describeMeasure(measure: MeasureInfo): string {
  return measureTitle(measure);
}

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

export function heatmapFromSimilarity(matrix: SimilarityMatrix): HeatmapData {
  const rows = matrix.rows.layers.length;
  const cols = matrix.cols.layers.length;
  const reasons = new Map<number, string>();
  for (const cell of matrix.undefined) reasons.set(cell.row * cols + cell.col, cell.reason);
  return {
    rows: axisOf(matrix.rows.model, matrix.rows.label, matrix.rows.layers),
    cols: axisOf(matrix.cols.model, matrix.cols.label, matrix.cols.layers),
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
    measure: describeMeasure(matrix.measure),
    n: matrix.n,
  };
}

/**
 * The mean over all ordered pairs of seed models (i, j ≠ i): rows are layers of model i, columns
 * layers of model j, both named as in model A (the seeds share one architecture).
 */
export function heatmapFromSeeds(summary: SeedsSummary, models: readonly ResultModel[], n: number): HeatmapData {
  const reference = models[0];
  if (!reference) throw new Error('a seeds result needs at least one model');
  const size = reference.layers.length;
  const labels = reference.layers.map((l) => l.name);
  const ids = reference.layers.map((l) => l.tensor);
  const values = flattenGrid(summary.mean, size, size);
  const reasons = new Map<number, string>();
  for (const cell of summary.undefined ?? []) {
    reasons.set(cell.row * size + cell.col, `in every pair of seeds — ${cell.reason}`);
  }
  values.forEach((v, i) => {
    if (Number.isNaN(v) && !reasons.has(i)) reasons.set(i, 'undefined for every pair of seeds (e.g. a constant layer)');
  });
  return {
    rows: { title: `seed i, each of ${models.length} (layers of ${reference.label})`, labels, ids },
    cols: { title: 'seed j, every other seed (same layers)', labels, ids },
    values,
    reasons,
    interval: null,
    spread: { values: flattenGrid(summary.std, size, size), label: 'std over pairs' },
    measure: `mean ${describeMeasure(summary.measure)}`,
    n,
  };
}

function axisOf(model: number, label: string, layers: readonly { tensor: string; name: string }[]): HeatmapAxis {
  return { title: modelTitle(model, label), labels: layers.map((l) => l.name), ids: layers.map((l) => l.tensor) };
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

/** The spread of a heatmap (seeds: the std over pairs) as a heatmap of its own. */
export function spreadHeatmap(data: HeatmapData): HeatmapData | null {
  if (!data.spread) return null;
  const reasons = new Map<number, string>();
  data.spread.values.forEach((v, i) => {
    if (Number.isNaN(v)) reasons.set(i, data.reasons.get(i) ?? 'no spread for this pair of layers');
  });
  return {
    ...data,
    values: data.spread.values,
    reasons,
    interval: null,
    spread: null,
    measure: `${data.spread.label} of ${data.measure}`,
  };
}
