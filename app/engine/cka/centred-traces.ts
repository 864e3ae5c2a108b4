/**
 * Centred traces tr(ÃB̃) from raw ones. Both centrings only shift rows and columns
 * (centring.ts: Ã_ij = A_ij − s_i − s_j, with a zero diagonal for U-centring), so expanding the
 * product leaves one O(n²) term per pair — the raw Σ A_ij B_ij, which the stacked product computes
 * for all pairs at once — plus O(n) terms from each kernel's diagonal and row sums:
 *
 *   biased:    tr(ÃB̃) = tr(AB) − 2 Σᵢ tᵢ rᴬᵢ − 2 Σᵢ sᵢ rᴮᵢ + 2n Σᵢ sᵢtᵢ + 2 (Σs)(Σt)
 *   unbiased:  tr(ŨṼ) = tr(AB) − Σᵢ AᵢᵢBᵢᵢ − 2 Σᵢ tᵢ r̃ᴬᵢ − 2 Σᵢ sᵢ r̃ᴮᵢ + 2(n−2) Σᵢ sᵢtᵢ + 2 (Σs)(Σt)
 *
 * with s, t the shifts of A and B, r the row sums and r̃ = r − diag the off-diagonal row sums.
 * Packed storage gives tr(AB) = 2 Σ_{i≤j} A_ij B_ij − Σᵢ AᵢᵢBᵢᵢ. Stored kernels are (nearly)
 * centred already, so the correction terms are small and nothing cancels badly in float64.
 */
import { shiftFromRowSums, type CentringMode } from './centring.js';
import type { PackedArray } from './packed.js';

export interface KernelSummary {
  n: number;
  diag: Float64Array;
  /** Full row sums Σⱼ K_ij (diagonal included). */
  rowSums: Float64Array;
}

export function kernelSummary(packed: PackedArray, n: number): KernelSummary {
  const diag = new Float64Array(n);
  const rowSums = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const d = packed[k++]!;
    diag[i] = d;
    let rowSum = d;
    for (let j = i + 1; j < n; j++, k++) {
      const v = packed[k]!;
      rowSum += v;
      rowSums[j]! += v;
    }
    rowSums[i]! += rowSum;
  }
  return { n, diag, rowSums };
}

/** The row sums the centring uses: full (biased) or off-diagonal (U-centring). */
function centringRowSums(summary: KernelSummary, mode: CentringMode): Float64Array {
  if (mode === 'biased') return summary.rowSums;
  return summary.rowSums.map((r, i) => r - summary.diag[i]!);
}

/** The shift vector of a centring (centring.ts), from the summary. */
export function shiftFromSummary(summary: KernelSummary, mode: CentringMode): Float64Array {
  return shiftFromRowSums(centringRowSums(summary, mode), summary.n, mode);
}

/**
 * @param packedProducts k×k row-major Σ_{i≤j} A_ij B_ij of the raw kernels
 * @returns k×k tr(ÃB̃) of the centred kernels; rows/columns of null summaries are 0
 */
export function centredTraces(
  packedProducts: Float64Array,
  summaries: readonly (KernelSummary | null)[],
  mode: CentringMode,
): Float64Array {
  const k = summaries.length;
  const out = new Float64Array(k * k);
  const prepared = summaries.map((s) => {
    if (!s) return null;
    const shift = shiftFromSummary(s, mode);
    let shiftSum = 0;
    for (let i = 0; i < s.n; i++) shiftSum += shift[i]!;
    return { s, shift, shiftSum, rows: centringRowSums(s, mode) };
  });
  for (let a = 0; a < k; a++) {
    const A = prepared[a];
    if (!A) continue;
    for (let b = a; b < k; b++) {
      const B = prepared[b];
      if (!B) continue;
      const n = A.s.n;
      let diagonalProduct = 0;
      let tRa = 0;
      let sRb = 0;
      let st = 0;
      for (let i = 0; i < n; i++) {
        diagonalProduct += A.s.diag[i]! * B.s.diag[i]!;
        tRa += B.shift[i]! * A.rows[i]!;
        sRb += A.shift[i]! * B.rows[i]!;
        st += A.shift[i]! * B.shift[i]!;
      }
      const rawTrace = 2 * packedProducts[a * k + b]! - diagonalProduct;
      const value =
        mode === 'biased'
          ? rawTrace - 2 * tRa - 2 * sRb + 2 * n * st + 2 * A.shiftSum * B.shiftSum
          : rawTrace - diagonalProduct - 2 * tRa - 2 * sRb + 2 * (n - 2) * st + 2 * A.shiftSum * B.shiftSum;
      out[a * k + b] = value;
      out[b * k + a] = value;
    }
  }
  return out;
}
