/**
 * Cholesky factorisation G = RᵀR of a symmetric positive definite matrix (R upper triangular),
 * and the inverse of a triangular factor — the small steps of CholeskyQR (Q = X R⁻¹).
 */

export interface CholeskyResult {
  /** r×r row-major upper triangular factor of the leading r×r block. */
  factor: Float64Array;
  /**
   * Columns factored: `size` unless a pivot fell to `minPivot` or below (the column is, to
   * working precision, in the span of the earlier ones), where it stopped.
   */
  rank: number;
  /** Square roots of the pivots: each column's norm after the earlier columns are projected out. */
  pivots: Float64Array;
}

/**
 * Upper Cholesky factor of g (n×n row-major, lower triangle not read), stopping at the first
 * column whose pivot (its squared residual norm) is ≤ minPivot · its diagonal entry.
 */
export function cholesky(g: Float64Array, n: number, minPivot = 0): CholeskyResult {
  const r = new Float64Array(n * n);
  const pivots = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    // r[j][j] = sqrt(g[j][j] − Σ_{k<j} r[k][j]²); r[j][c] = (g[j][c] − Σ_{k<j} r[k][j] r[k][c]) / r[j][j]
    let s = g[j * n + j]!;
    for (let k = 0; k < j; k++) s -= r[k * n + j]! * r[k * n + j]!;
    if (!(s > minPivot * g[j * n + j]!) || !(s > 0)) {
      return { factor: leading(r, n, j), rank: j, pivots: pivots.subarray(0, j) };
    }
    const rjj = Math.sqrt(s);
    pivots[j] = rjj;
    r[j * n + j] = rjj;
    const inv = 1 / rjj;
    // row j of R from row j of G minus the earlier rows' contributions, a row at a time
    const row = j * n;
    for (let c = j + 1; c < n; c++) r[row + c] = g[row + c]!;
    for (let k = 0; k < j; k++) {
      const rkj = r[k * n + j]!;
      if (rkj === 0) continue;
      const rk = k * n;
      for (let c = j + 1; c < n; c++) r[row + c]! -= rkj * r[rk + c]!;
    }
    for (let c = j + 1; c < n; c++) r[row + c]! *= inv;
  }
  return { factor: r, rank: n, pivots };
}

function leading(r: Float64Array, n: number, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out.set(r.subarray(i * n, i * n + size), i * size);
  return out;
}

/** The inverse of an upper triangular n×n row-major matrix (upper triangular too). */
export function invertUpper(r: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  // column by column from the bottom: R · inv[:, j] = e_j
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / r[j * n + j]!;
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let k = i + 1; k <= j; k++) s += r[i * n + k]! * inv[k * n + j]!;
      inv[i * n + j] = -s / r[i * n + i]!;
    }
  }
  return inv;
}
