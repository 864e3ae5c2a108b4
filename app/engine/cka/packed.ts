/**
 * Packed symmetric matrices: the upper triangle of an n×n matrix, diagonal included, row by row
 * (row i holds columns i..n-1). Grams and kernels are symmetric, so this stores everything in
 * n(n+1)/2 values — in float64 the same bytes as a full float32 matrix, at double precision.
 *
 *   index(i, j) = i·n − i(i−1)/2 + (j − i)      for i ≤ j
 */

/**
 * A packed matrix's values. A Gram whose product ran in float32 is stored in float32: every value
 * the float32 product gives is a float32, so widening it would store the same numbers in twice
 * the memory. Everything computed from packed values (sums, centring, kernels) is float64.
 */
export type PackedArray = Float32Array | Float64Array;

export function packedLength(n: number): number {
  return (n * (n + 1)) / 2;
}

/** Offset of row i's first (diagonal) element. */
export function packedRowStart(n: number, i: number): number {
  return i * n - (i * (i - 1)) / 2;
}

export function packedIndex(n: number, i: number, j: number): number {
  if (i > j) [i, j] = [j, i];
  return packedRowStart(n, i) + (j - i);
}

/** The row whose segment contains packed index k (0 ≤ k < n(n+1)/2). */
export function packedRowOf(n: number, k: number): number {
  // Solve rowStart(i) ≤ k for the largest i, then correct for rounding.
  const b = 2 * n + 1;
  let i = Math.floor((b - Math.sqrt(b * b - 8 * k)) / 2);
  if (i < 0) i = 0;
  while (i > 0 && packedRowStart(n, i) > k) i--;
  while (i + 1 < n && packedRowStart(n, i + 1) <= k) i++;
  return i;
}

/** The diagonal of a packed matrix. */
export function packedDiagonal(packed: PackedArray, n: number): Float64Array {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = packed[packedRowStart(n, i)]!;
  return diag;
}

/** Row sums Σ_j K_ij of the full symmetric matrix, in float64 (each off-diagonal value counts for both its row and column). */
export function packedRowSums(packed: PackedArray, n: number, excludeDiagonal = false): Float64Array {
  const sums = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    let rowSum = excludeDiagonal ? 0 : packed[k]!;
    k++;
    for (let j = i + 1; j < n; j++, k++) {
      const v = packed[k]!;
      rowSum += v;
      sums[j]! += v;
    }
    sums[i]! += rowSum;
  }
  return sums;
}

/** Expands a packed matrix to a full n×n row-major array (float32 or float64). */
export function unpackSymmetric<T extends Float32Array | Float64Array>(packed: PackedArray, n: number, out: T): T {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const rowBase = i * n;
    for (let j = i; j < n; j++, k++) {
      const v = packed[k]!;
      out[rowBase + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/** Packs the upper triangle of a full symmetric n×n row-major matrix. */
export function packSymmetric(
  full: ArrayLike<number>,
  n: number,
  out: Float64Array = new Float64Array(packedLength(n)),
): Float64Array {
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++, k++) out[k] = full[i * n + j]!;
  }
  return out;
}
