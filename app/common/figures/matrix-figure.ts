/**
 * What a matrix figure shows, built once from a result for every place that draws or writes it
 * (the page's exports and `runs export`): the grid, the layer names and which model each axis is,
 * the title line, what a value is, and the file-name stem. Same inputs, same figure.
 */
import type { MeasureInfo, ResultModel, SeedsSummary, SimilarityMatrix } from '../contract.js';
import { fileStem, formatCount, modelTitle } from './names.js';
import { measureLabel, measureTitle } from '../measures.js';

export interface FigureAxis {
  /** Which model the axis shows, e.g. "model A: resnet18.onnx". */
  title: string;
  /** One per row/column: layer names for people. */
  labels: readonly string[];
}

export interface MatrixFigure {
  /** rows × cols; null where undefined. */
  values: readonly (readonly (number | null)[])[];
  rows: FigureAxis;
  cols: FigureAxis;
  /** The line above the plot, e.g. "linear CKA · 500 examples". */
  title: string;
  /** What a value is (the colour bar's label), e.g. "linear CKA". */
  valueLabel: string;
  /** File name without extension. */
  stem: string;
}

/** "linear CKA · 500 examples"; just the value label when no one count applies. */
export function figureTitle(valueLabel: string, n: number | null): string {
  return n === null ? valueLabel : `${valueLabel} · ${formatCount(n)} examples`;
}

/** "net-a-vs-net-b-rbf_threshold_0.4", after the run's name when there is one. */
export function pairStem(rowsLabel: string, colsLabel: string, measure: MeasureInfo, runName?: string): string {
  const pair = `${rowsLabel}-vs-${colsLabel}-${measureLabel(measure)}`;
  return fileStem(runName === undefined ? pair : `${runName}-${pair}`);
}

export function similarityFigure(matrix: SimilarityMatrix, runName?: string): MatrixFigure {
  const valueLabel = measureTitle(matrix.measure);
  return {
    values: matrix.matrix,
    rows: { title: modelTitle(matrix.rows.model, matrix.rows.label), labels: matrix.rows.layers.map((l) => l.name) },
    cols: { title: modelTitle(matrix.cols.model, matrix.cols.label), labels: matrix.cols.layers.map((l) => l.name) },
    title: figureTitle(valueLabel, matrix.n),
    valueLabel,
    stem: pairStem(matrix.rows.label, matrix.cols.label, matrix.measure, runName),
  };
}

export type SeedsStatistic = 'mean' | 'std';

export interface SeedsFigureInput {
  summary: SeedsSummary;
  /** The seed models in the result's order; model 0 names the layers (the seeds share one architecture). */
  models: readonly ResultModel[];
  /** Examples each pair's values are computed over. */
  n: number;
  statistic: SeedsStatistic;
  /** Starts the file-name stem when given. */
  runName?: string;
}

/**
 * The mean or the standard deviation over all ordered pairs of seed models (i, j ≠ i): rows are
 * layers of model i, columns layers of model j, both named as in model A.
 */
export function seedsFigure({ summary, models, n, statistic, runName }: SeedsFigureInput): MatrixFigure {
  const reference = models[0];
  if (!reference) throw new Error('a seeds result needs at least one model');
  const labels = reference.layers.map((l) => l.name);
  const measure = measureTitle(summary.measure);
  const valueLabel = statistic === 'mean' ? `mean ${measure}` : `std over pairs of ${measure}`;
  return {
    values: statistic === 'mean' ? summary.mean : summary.std,
    rows: { title: `seed i, each of ${models.length} (layers of ${reference.label})`, labels },
    cols: { title: 'seed j, every other seed (same layers)', labels },
    title: figureTitle(valueLabel, n),
    valueLabel,
    stem: seedsStem(summary.measure, statistic, runName),
  };
}

/** "my-run-seeds-std-linear". */
export function seedsStem(measure: MeasureInfo, statistic: SeedsStatistic, runName?: string): string {
  const seeds = `seeds-${statistic}-${measureLabel(measure)}`;
  return fileStem(runName === undefined ? seeds : `${runName}-${seeds}`);
}
