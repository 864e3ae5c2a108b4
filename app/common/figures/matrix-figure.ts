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

/** "a.onnx vs b.onnx · linear CKA · 500 examples": what is compared, the measure, over how many examples. */
export function figureTitle(subject: string | null, valueLabel: string, n: number | null): string {
  return [subject, valueLabel, n === null ? null : `${formatCount(n)} examples`].filter((p) => p !== null).join(' · ');
}

/** Which two models a matrix compares: "a.onnx vs b.onnx", or "a.onnx with itself". */
export function pairSubject(matrix: Pick<SimilarityMatrix, 'rows' | 'cols'>): string {
  return matrix.rows.model === matrix.cols.model
    ? `${matrix.rows.label} with itself`
    : `${matrix.rows.label} vs ${matrix.cols.label}`;
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
    title: figureTitle(pairSubject(matrix), valueLabel, matrix.n),
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
    title: figureTitle(seedsSubject(models, summary.accuracyPerPair.length), valueLabel, n),
    valueLabel,
    stem: seedsStem(summary.measure, statistic, runName),
  };
}

/** "5 seeds, 20 ordered pairs: plain-d1-s0.onnx … plain-d1-s4.onnx". */
export function seedsSubject(models: readonly Pick<ResultModel, 'label'>[], pairs: number): string {
  const names =
    models.length <= 2 ? models.map((m) => m.label).join(', ') : `${models[0]!.label} … ${models.at(-1)!.label}`;
  return `${models.length} seeds, ${pairs} ordered pair${pairs === 1 ? '' : 's'}: ${names}`;
}

/** "my-run-seeds-std-linear". */
export function seedsStem(measure: MeasureInfo, statistic: SeedsStatistic, runName?: string): string {
  const seeds = `seeds-${statistic}-${measureLabel(measure)}`;
  return fileStem(runName === undefined ? seeds : `${runName}-${seeds}`);
}
