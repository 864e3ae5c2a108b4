/**
 * One-dimensional readings of a row-major similarity grid (NaN = undefined): a row, a column, the
 * diagonal, and how rows' best matches fall — the numbers behind the line plots.
 */
import { bestMatchPerRow } from '@common/figures/best-match.js';

export function rowOf(values: Float64Array, cols: number, row: number): Float64Array {
  return values.slice(row * cols, (row + 1) * cols);
}

export function columnOf(values: Float64Array, rows: number, cols: number, col: number): Float64Array {
  const column = new Float64Array(rows);
  for (let r = 0; r < rows; r++) column[r] = values[r * cols + col]!;
  return column;
}

/** Values at (i, i) for i < min(rows, cols). */
export function diagonalOf(values: Float64Array, rows: number, cols: number): Float64Array {
  const size = Math.min(rows, cols);
  const diagonal = new Float64Array(size);
  for (let i = 0; i < size; i++) diagonal[i] = values[i * cols + i]!;
  return diagonal;
}

/** Each row's highest value (NaN when the row has none). */
export function rowMaxima(values: Float64Array, rows: number, cols: number): Float64Array {
  const maxima = new Float64Array(rows).fill(NaN);
  const best = bestMatchPerRow(values, rows, cols);
  for (let r = 0; r < rows; r++) if (best[r]! >= 0) maxima[r] = values[r * cols + best[r]!]!;
  return maxima;
}

/** Fraction of rows whose best match is their own index: the sanity check for a square matrix. */
export function diagonalMatchFraction(values: Float64Array, rows: number, cols: number): number | null {
  const size = Math.min(rows, cols);
  const best = bestMatchPerRow(values, rows, cols);
  let counted = 0;
  let matched = 0;
  for (let i = 0; i < size; i++) {
    if (best[i]! < 0) continue;
    counted++;
    if (best[i] === i) matched++;
  }
  return counted === 0 ? null : matched / counted;
}
