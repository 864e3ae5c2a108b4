/**
 * Eigenvalues (and, for small blocks, eigenvectors) of a symmetric tridiagonal matrix by the
 * implicit QL method with Wilkinson shifts (EISPACK tql1/tql2; Golub & Van Loan §8.3.3).
 * Values only: O(n²). With vectors: O(n³) rotations, used for the divide-and-conquer leaves.
 */
import { WorkbenchError } from '../../../common/errors.js';

const EPS = 2 ** -52;
const MAX_SWEEPS = 60;

/**
 * Runs QL on (d, e) in place. `d` (n) becomes the eigenvalues, unsorted; `e` (n − 1) is
 * destroyed. With `z` (n×n row-major, row i = vector i; start from the identity), the rotations
 * are accumulated into its rows, so row i ends as the eigenvector of d[i].
 */
function ql(d: Float64Array, eIn: Float64Array, n: number, z: Float64Array | null): void {
  if (n <= 1) return;
  const e = new Float64Array(n);
  e.set(eIn.subarray(0, n - 1));
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > EPS * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > MAX_SWEEPS) {
          throw new WorkbenchError('NUMERIC', 'the tridiagonal QL iteration did not converge');
        }
        // Wilkinson-like shift from the leading 2×2 block
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        // implicit QL sweep
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          if (z) {
            // rows i and i+1 of z (vectors are rows)
            const a = i * n;
            const b = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const zb = z[b + k]!;
              const za = z[a + k]!;
              z[b + k] = s * za + c * zb;
              z[a + k] = c * za - s * zb;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** The eigenvalues of the tridiagonal (d, e), ascending. Inputs are not modified. */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const values = Float64Array.from(d);
  ql(values, e, n, null);
  return values.sort();
}

/**
 * Eigenvalues (ascending) and eigenvectors of the tridiagonal (d, e): `vectors` is n×n row-major
 * with column j the eigenvector of values[j]. O(n³): for small n (divide-and-conquer leaves).
 */
export function tridiagonalEigenQl(d: Float64Array, e: Float64Array): { values: Float64Array; vectors: Float64Array } {
  const n = d.length;
  const values = Float64Array.from(d);
  const rows = new Float64Array(n * n);
  for (let i = 0; i < n; i++) rows[i * n + i] = 1;
  ql(values, e, n, rows);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const sorted = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((from, j) => {
    sorted[j] = values[from]!;
    for (let k = 0; k < n; k++) vectors[k * n + j] = rows[from * n + k]!;
  });
  return { values: sorted, vectors };
}
