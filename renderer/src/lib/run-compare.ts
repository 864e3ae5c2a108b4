/**
 * Comparing runs (up to six): which matrices each offers (every similarity matrix, and a seeds
 * run's mean per measure), which of them match cell for cell (same measure, same layers on both
 * axes), one colour range for all, and the difference A − B of a matching pair with its summary.
 * Pure: tested without a page.
 */
import type { ExperimentResult } from '@common/contract.js';
import { modelLetter } from '@common/figures/names.js';
import { measureTitle } from '@common/measures.js';
import { heatmapFromSeeds, heatmapFromSimilarity, type HeatmapData } from '../charts/heatmap-data.js';
import { UNIT_RANGE, finiteRange, valuesOf, type ValueRange } from '@common/figures/color-scale.js';

export interface MatrixChoice {
  /** Stable within a result: `m3` (matrices[3]) or `s1` (seeds[1] mean). */
  key: string;
  label: string;
  measure: string;
  data: HeatmapData;
}

/** Every matrix of a result a comparison can show. */
export function matrixChoices(result: ExperimentResult): MatrixChoice[] {
  const choices: MatrixChoice[] = [];
  (result.seeds ?? []).forEach((summary, i) => {
    const measure = measureTitle(summary.measure);
    choices.push({
      key: `s${i}`,
      label: `mean over seeds · ${measure}`,
      measure,
      data: heatmapFromSeeds(summary, result.models, result.probe.n),
    });
  });
  result.matrices.forEach((matrix, i) => {
    const measure = measureTitle(matrix.measure);
    const sides =
      matrix.rows.model === matrix.cols.model
        ? `${modelLetter(matrix.rows.model)} × itself`
        : `${modelLetter(matrix.rows.model)} × ${modelLetter(matrix.cols.model)}`;
    choices.push({
      key: `m${i}`,
      label: `${sides}: ${matrix.rows.label} × ${matrix.cols.label} · ${measure}`,
      measure,
      data: heatmapFromSimilarity(matrix),
    });
  });
  return choices;
}

/** Same measure and the same layers (by tensor name, in order) on both axes. */
export function sameCells(a: MatrixChoice, b: MatrixChoice): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.measure === b.measure && same(a.data.rows.ids, b.data.rows.ids) && same(a.data.cols.ids, b.data.cols.ids);
}

/** The first pair of choices that match cell for cell; else the first of each. */
export function defaultPairing(a: readonly MatrixChoice[], b: readonly MatrixChoice[]): [string, string] | null {
  const keys = defaultChoices([a, b]);
  return keys ? [keys[0]!, keys[1]!] : null;
}

/**
 * One matrix per run: of the first run's matrices, the first that the most other runs have cell
 * for cell; each other run shows its first match of it, or its own first matrix when it has none.
 * Null when a run has no matrix.
 */
export function defaultChoices(lists: readonly (readonly MatrixChoice[])[]): string[] | null {
  if (lists.length === 0 || lists.some((list) => list.length === 0)) return null;
  const [first, ...others] = lists;
  const matchIn = (x: MatrixChoice, list: readonly MatrixChoice[]) => list.find((y) => sameCells(x, y));
  const matches = (x: MatrixChoice) => others.filter((list) => matchIn(x, list)).length;
  let anchor = first![0]!;
  for (const x of first!) if (matches(x) > matches(anchor)) anchor = x;
  return [anchor.key, ...others.map((list) => (matchIn(anchor, list) ?? list[0]!).key)];
}

export interface Difference {
  data: HeatmapData;
  /** Symmetric around 0: [−m, m] with m the largest |A − B| (at least 1e-6). */
  range: ValueRange;
  meanAbs: number;
  maxAbs: number;
  /** Where |A − B| is largest. */
  at: { row: number; col: number } | null;
  /** Cells defined in both. */
  cells: number;
}

/** A − B cell by cell; a cell undefined in either is undefined, with the reason. */
export function difference(a: MatrixChoice, b: MatrixChoice, names: { a: string; b: string }): Difference {
  if (!sameCells(a, b)) throw new Error('the two matrices do not have the same layers and measure');
  const { rows, cols } = a.data;
  const values = new Float64Array(a.data.values.length);
  const reasons = new Map<number, string>();
  let sum = 0;
  let cells = 0;
  let maxAbs = 0;
  let at: Difference['at'] = null;
  for (let i = 0; i < values.length; i++) {
    const x = a.data.values[i]!;
    const y = b.data.values[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      values[i] = NaN;
      const why = Number.isNaN(x) ? a.data.reasons.get(i) : b.data.reasons.get(i);
      reasons.set(i, `undefined in ${Number.isNaN(x) ? names.a : names.b}${why ? `: ${why}` : ''}`);
      continue;
    }
    const d = x - y;
    values[i] = d;
    sum += Math.abs(d);
    cells++;
    if (Math.abs(d) > maxAbs || at === null) {
      maxAbs = Math.abs(d);
      at = { row: Math.floor(i / cols.ids.length), col: i % cols.ids.length };
    }
  }
  const m = Math.max(maxAbs, 1e-6);
  return {
    data: {
      rows,
      cols,
      values,
      reasons,
      interval: null,
      spread: null,
      measure: `${a.measure}: ${names.a} − ${names.b}`,
      title: `${names.a} − ${names.b} · ${a.measure}`,
      n: a.data.n === b.data.n ? a.data.n : null,
    },
    range: [-m, m],
    meanAbs: cells > 0 ? sum / cells : NaN,
    maxAbs,
    at,
    cells,
  };
}

/** One colour range for every matrix shown: [0, 1], or the span of all their values. */
export function sharedRange(data: readonly HeatmapData[], mode: 'unit' | 'data'): ValueRange {
  if (mode === 'unit') return UNIT_RANGE;
  return finiteRange(valuesOf(data.map((d) => d.values))) ?? UNIT_RANGE;
}
