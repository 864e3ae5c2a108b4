/**
 * Centring a kernel matrix, as an affine view of it: both centrings CKA uses change K only by
 * per-row and per-column shifts,
 *
 *   centred(i, j) = K(i, j) − shift[i] − shift[j]        (and 0 on the diagonal for U-centring)
 *
 * so a centred kernel is the packed kernel plus one float64 vector of length n. The stacked HSIC
 * product applies the view while it gathers its chunks; nothing n×n is written twice.
 *
 * - Biased (double) centring, HKH with H = I − 11ᵀ/n:
 *     HKH(i, j) = K(i, j) − m_i − m_j + m̄,  m_i = row mean, m̄ = grand mean
 *     ⇒ shift_i = m_i − m̄/2.
 * - U-centring (Székely & Rizzo 2014, as in the CKA paper's demo), for the unbiased HSIC₁ of
 *   Song et al. 2012: with K̃ = K with its diagonal zeroed and r_i = Σ_j K̃(i, j),
 *     Ũ(i, j) = K̃(i, j) − r_i/(n−2) − r_j/(n−2) + Σr/((n−1)(n−2)),  Ũ(i, i) = 0
 *     ⇒ shift_i = r_i/(n−2) − Σr/(2(n−1)(n−2)).
 *   Then HSIC₁(K, L) = ⟨Ũ_K, Ũ_L⟩ / (n(n−3)), which needs n ≥ 4.
 *
 * Both centrings annihilate any added a·1ᵀ + 1·aᵀ (+ constant), so they may be applied to an
 * already centred Gram (better conditioned) with the same result as to the raw one.
 */
import { WorkbenchError } from '../../common/errors.js';
import { packedLength, packedRowSums, type PackedArray } from './packed.js';

export type CentringMode = 'biased' | 'unbiased';

export interface CentredKernelView {
  /** The kernel, packed upper triangle (see packed.ts). */
  base: PackedArray;
  n: number;
  /** centred(i, j) = base(i, j) − shift[i] − shift[j]. */
  shift: Float64Array;
  /** U-centring: the diagonal is zero. */
  zeroDiagonal: boolean;
}

/** The smallest n each centring is defined for (HSIC₁ divides by n(n−3)). */
export const MIN_EXAMPLES: Record<CentringMode, number> = { biased: 2, unbiased: 4 };

export function centringShift(base: PackedArray, n: number, mode: CentringMode): Float64Array {
  if (n < MIN_EXAMPLES[mode]) {
    throw new WorkbenchError(
      'BAD_INPUT',
      mode === 'unbiased'
        ? `the unbiased HSIC estimator needs at least 4 examples, got n = ${n}`
        : `CKA needs at least 2 examples, got n = ${n}`,
    );
  }
  return shiftFromRowSums(packedRowSums(base, n, mode === 'unbiased'), n, mode);
}

/**
 * The shift vector from the row sums the centring uses: full row sums m·n for biased centring
 * (shift_i = m_i − m̄/2), off-diagonal ones r for U-centring (shift_i = r_i/(n−2) − Σr/(2(n−1)(n−2))).
 * No check of n: callers that need one do it ({@link centringShift}).
 */
export function shiftFromRowSums(rowSums: Float64Array, n: number, mode: CentringMode): Float64Array {
  let total = 0;
  for (let i = 0; i < n; i++) total += rowSums[i]!;
  const shift = new Float64Array(n);
  if (mode === 'biased') {
    const grandMeanHalf = total / (n * n) / 2;
    for (let i = 0; i < n; i++) shift[i] = rowSums[i]! / n - grandMeanHalf;
  } else {
    const correction = total / (2 * (n - 1) * (n - 2));
    for (let i = 0; i < n; i++) shift[i] = rowSums[i]! / (n - 2) - correction;
  }
  return shift;
}

export function centredView(base: PackedArray, n: number, mode: CentringMode): CentredKernelView {
  return { base, n, shift: centringShift(base, n, mode), zeroDiagonal: mode === 'unbiased' };
}

/** Applies a shift to a packed kernel in place: K(i, j) −= shift[i] + shift[j] (diagonal included). */
export function centrePackedInPlace(packed: Float64Array, n: number, shift: Float64Array): void {
  let k = 0;
  for (let i = 0; i < n; i++) {
    const si = shift[i]!;
    for (let j = i; j < n; j++, k++) packed[k]! -= si + shift[j]!;
  }
}

/** The centred kernel's diagonal (zero for U-centring). */
export function centredDiagonal(view: CentredKernelView): Float64Array {
  const { base, n, shift, zeroDiagonal } = view;
  const diag = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    diag[i] = zeroDiagonal ? 0 : base[k]! - 2 * shift[i]!;
    k += n - i;
  }
  return diag;
}

/** Writes the centred kernel as a packed matrix. */
export function materialiseCentred(
  view: CentredKernelView,
  out: Float64Array = new Float64Array(packedLength(view.n)),
): Float64Array {
  const { base, n, shift, zeroDiagonal } = view;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const si = shift[i]!;
    out[k] = zeroDiagonal ? 0 : base[k]! - 2 * si;
    k++;
    for (let j = i + 1; j < n; j++, k++) out[k] = base[k]! - si - shift[j]!;
  }
  return out;
}

/** Writes the centred kernel as a full n×n row-major matrix (float32 or float64). */
export function materialiseCentredFull<T extends Float32Array | Float64Array>(view: CentredKernelView, out: T): T {
  const { base, n, shift, zeroDiagonal } = view;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const si = shift[i]!;
    const row = i * n;
    out[row + i] = zeroDiagonal ? 0 : base[k]! - 2 * si;
    k++;
    for (let j = i + 1; j < n; j++, k++) {
      const v = base[k]! - si - shift[j]!;
      out[row + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/**
 * ⟨A, B⟩_F = tr(AB) of two centred views, computed directly in float64 (O(n²)). The engine's
 * stacked product does the same for all pairs at once; this is for single pairs and small n.
 */
export function centredInnerProduct(a: CentredKernelView, b: CentredKernelView): number {
  const n = a.n;
  let diagonal = 0;
  let offDiagonal = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const ai = a.shift[i]!;
    const bi = b.shift[i]!;
    if (!a.zeroDiagonal && !b.zeroDiagonal) diagonal += (a.base[k]! - 2 * ai) * (b.base[k]! - 2 * bi);
    k++;
    for (let j = i + 1; j < n; j++, k++) {
      offDiagonal += (a.base[k]! - ai - a.shift[j]!) * (b.base[k]! - bi - b.shift[j]!);
    }
  }
  return diagonal + 2 * offDiagonal;
}
