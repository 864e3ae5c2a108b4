/**
 * The RBF kernel of CKA (Kornblith et al. 2019, §4 and their demo):
 *
 *   k(x_i, x_j) = exp(−‖x_i − x_j‖² / (2 t² m)),   m = median of all n² squared distances
 *
 * with the diagonal's n zeros included in the median, exactly as the demo's `np.median(sq_distances)`
 * over the full matrix (for an even count, the mean of the two middle values). Squared distances
 * come from the (centred) Gram: d(i, j) = g_ii + g_jj − 2 g_ij, clamped at 0 against rounding.
 *
 * The kernels are stored double-centred (HKH, exact up to rounding): their values are then small,
 * which keeps the raw traces of the stacked HSIC product free of cancellation; either centring
 * applied later gives the same result as on the raw kernel (centring.ts).
 */
import { centrePackedInPlace } from './centring.js';
import { kernelSummary, shiftFromSummary } from './centred-traces.js';
import { packedLength, packedRowStart, type PackedArray } from './packed.js';

/** Squared distances, packed like the Gram (diagonal 0). */
export function squaredDistancesFromGram(
  gram: PackedArray,
  n: number,
  out: Float64Array = new Float64Array(packedLength(n)),
): Float64Array {
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = gram[packedRowStart(n, i)]!;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const gi = diag[i]!;
    out[k++] = 0;
    for (let j = i + 1; j < n; j++, k++) {
      const d = gi + diag[j]! - 2 * gram[k]!;
      out[k] = d > 0 ? d : 0;
    }
  }
  return out;
}

/** k-th smallest value (0-based) of `values`, reordering it in place (Hoare quickselect). */
export function selectInPlace(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (hi > lo) {
    // Median of three as pivot keeps sorted and constant inputs linear.
    const mid = (lo + hi) >>> 1;
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/**
 * The median of all n² squared distances (the full symmetric matrix, diagonal zeros included) from
 * the packed distances. Sorted, the full multiset is n zeros followed by each off-diagonal distance
 * twice, so position q ≥ n of it is the ⌊(q − n)/2⌋-th smallest off-diagonal distance.
 */
export function medianSquaredDistance(distances: Float64Array, n: number): number {
  if (n < 2) return 0;
  const offDiagonal = new Float64Array((n * (n - 1)) / 2);
  let k = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    k++; // skip the diagonal
    for (let j = i + 1; j < n; j++) offDiagonal[o++] = distances[k++]!;
  }
  const total = n * n;
  const orderStatistic = (q: number): number => (q < n ? 0 : selectInPlace(offDiagonal, (q - n) >> 1));
  if (total % 2 === 1) return orderStatistic((total - 1) / 2);
  return (orderStatistic(total / 2 - 1) + orderStatistic(total / 2)) / 2;
}

/** exp(−d / (2 t² m)) for every packed squared distance d. Requires m > 0. */
export function rbfKernelFromDistances(
  distances: Float64Array,
  threshold: number,
  medianDistance: number,
  out: Float64Array = new Float64Array(distances.length),
): Float64Array {
  const scale = -1 / (2 * threshold * threshold * medianDistance);
  for (let k = 0; k < distances.length; k++) out[k] = Math.exp(distances[k]! * scale);
  return out;
}

/**
 * RBF kernels of one Gram for several thresholds, each written double-centred into `kernelsOut[i]`
 * (packed). Returns the median squared distance m; when m is not > 0 the bandwidth is undefined
 * and nothing is written. `distances` is scratch of n(n+1)/2 values.
 */
export function centredRbfKernels(
  gram: PackedArray,
  n: number,
  thresholds: readonly number[],
  kernelsOut: readonly Float64Array[],
  distances: Float64Array = new Float64Array(packedLength(n)),
): number {
  squaredDistancesFromGram(gram, n, distances);
  const median = medianSquaredDistance(distances, n);
  if (median > 0) {
    thresholds.forEach((t, i) => {
      const kernel = rbfKernelFromDistances(distances, t, median, kernelsOut[i]);
      centrePackedInPlace(kernel, n, shiftFromSummary(kernelSummary(kernel, n), 'biased'));
    });
  }
  return median;
}
