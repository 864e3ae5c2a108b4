/**
 * The matrices of a result by ordered pair of models. CKA is symmetric, CKA(X, Y) = CKA(Y, X),
 * so the (j, i) matrix of a stored (i, j) pair is its transpose, intervals included: a result
 * holds each pair once (family runs) or both ways (seeds runs), and any ordered pair can be read.
 */
import type { ExperimentResult, MeasureInfo, SimilarityMatrix } from './contract.js';
import { measureLabel } from './measures.js';

function transposeGrid<T>(grid: readonly (readonly T[])[], cols: number): T[][] {
  return Array.from({ length: cols }, (_, c) => grid.map((row) => row[c]!));
}

/** The same comparison with rows and columns swapped. */
export function transposeMatrix(m: SimilarityMatrix): SimilarityMatrix {
  const cols = m.cols.layers.length;
  const out: SimilarityMatrix = {
    measure: m.measure,
    n: m.n,
    rows: m.cols,
    cols: m.rows,
    matrix: transposeGrid(m.matrix, cols),
    undefined: m.undefined.map((u) => ({ row: u.col, col: u.row, reason: u.reason })),
  };
  if (m.ci) {
    out.ci = { ...m.ci, lo: transposeGrid(m.ci.lo, cols), hi: transposeGrid(m.ci.hi, cols) };
  }
  return out;
}

/** The result's measures, in the order they first appear among its matrices (as `runs show` lists them). */
export function resultMeasures(result: Pick<ExperimentResult, 'matrices' | 'seeds'>): MeasureInfo[] {
  const seen = new Map<string, MeasureInfo>();
  for (const m of result.matrices) if (!seen.has(measureLabel(m.measure))) seen.set(measureLabel(m.measure), m.measure);
  for (const s of result.seeds ?? [])
    if (!seen.has(measureLabel(s.measure))) seen.set(measureLabel(s.measure), s.measure);
  return [...seen.values()];
}

/**
 * The matrix of models (rows, cols) for `measure`: the stored one, or the transpose of the stored
 * (cols, rows) one; null when the run did not compute that pair (or has not yet).
 */
export function pairMatrix(
  result: Pick<ExperimentResult, 'matrices'>,
  rows: number,
  cols: number,
  measure: MeasureInfo,
): SimilarityMatrix | null {
  const label = measureLabel(measure);
  const find = (r: number, c: number) =>
    result.matrices.find((m) => m.rows.model === r && m.cols.model === c && measureLabel(m.measure) === label);
  const stored = find(rows, cols);
  if (stored) return stored;
  const other = find(cols, rows);
  return other ? transposeMatrix(other) : null;
}
