/**
 * Eigenvalues and eigenvectors of a symmetric tridiagonal matrix by divide and conquer (Cuppen
 * 1981; Gu & Eisenstat 1995; LAPACK dstedc/dlaed0–3). The matrix is split in two halves and a
 * rank-one correction,
 *     T = diag(T₁ − |β| e_m e_mᵀ, T₂ − |β| e₁e₁ᵀ) + |β| u uᵀ,  u = (e_m, sign(β) e₁),
 * the halves are solved recursively (T_i = Q_i D_i Q_iᵀ), and the merge is the eigenproblem of
 * D + ρ z zᵀ with z = diag(Q₁, Q₂)ᵀ u (secular.ts), after deflating the components with a
 * negligible zⱼ or a negligible gap. The new eigenvectors are diag(Q₁, Q₂) · U: one matrix
 * product per merge, which is where the flops are, handed to `products` (onnxruntime in the
 * compute workers, plain loops otherwise). Blocks of ≤ 32 rows are solved by QL.
 */
import type { Multiply } from './householder-tridiagonal.js';
import { rankOneEigen } from './secular.js';
import { tridiagonalEigenQl } from './tridiagonal-ql.js';

const EPS = 2 ** -52;
const LEAF = 32;

/** C = A·B for row-major A (m×k) and B (k×n), written into `out` (m×n). */
export type MatrixMultiply = Multiply;

/** The plain-loop product (i-k-j order: rows of B streamed). */
export const multiplyInJs: MatrixMultiply = (a, b, m, k, n, out) => {
  out.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const bRow = p * n;
      for (let j = 0; j < n; j++) out[row + j]! += aip * b[bRow + j]!;
    }
  }
  return Promise.resolve();
};

export interface Eigen {
  /** Ascending. */
  values: Float64Array;
  /** n×n row-major; column j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

async function solve(d: Float64Array, e: Float64Array, multiply: MatrixMultiply): Promise<Eigen> {
  const n = d.length;
  if (n <= LEAF) return tridiagonalEigenQl(d, e);
  const m = n >> 1;
  const beta = e[m - 1]!;
  const rho = Math.abs(beta);
  const d1 = d.slice(0, m);
  const d2 = d.slice(m);
  d1[m - 1]! -= rho;
  d2[0]! -= rho;
  const [left, right] = [await solve(d1, e.slice(0, m - 1), multiply), await solve(d2, e.slice(m), multiply)];
  const m2 = n - m;
  // z = (last row of Q₁, sign(β) · first row of Q₂); ‖z‖² = 2
  const z = new Float64Array(n);
  const values = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    z[j] = left.vectors[(m - 1) * m + j]!;
    values[j] = left.values[j]!;
  }
  const sign = beta < 0 ? -1 : 1;
  for (let j = 0; j < m2; j++) {
    z[m + j] = sign * right.vectors[j]!;
    values[m + j] = right.values[j]!;
  }
  // Q = diag(Q₁, Q₂), n×n; its columns follow `values`.
  const q = new Float64Array(n * n);
  for (let i = 0; i < m; i++) q.set(left.vectors.subarray(i * m, (i + 1) * m), i * n);
  for (let i = 0; i < m2; i++) q.set(right.vectors.subarray(i * m2, (i + 1) * m2), (m + i) * n + m);
  return merge(values, z, rho, q, n, multiply);
}

/** The eigen-decomposition of Q (diag(values) + ρ z zᵀ) Qᵀ, Q n×n row-major (destroyed). */
async function merge(
  values: Float64Array,
  zIn: Float64Array,
  rho: number,
  q: Float64Array,
  n: number,
  multiply: MatrixMultiply,
): Promise<Eigen> {
  // unit z, ρ scaled so that ρ z zᵀ is unchanged (‖z‖² = 2 in exact arithmetic)
  let zz = 0;
  for (let j = 0; j < n; j++) zz += zIn[j]! * zIn[j]!;
  const z = zIn.map((v) => v / Math.sqrt(zz));
  rho *= zz;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const dSorted = order.map((i) => values[i]!);
  const zSorted = order.map((i) => z[i]!);
  // column of q for each sorted position (Givens rotations below mix two of them)
  const columns = order.slice();
  const dMax = Math.max(...dSorted.map(Math.abs));
  const zMax = Math.max(...zSorted.map(Math.abs));
  const tol = 8 * EPS * Math.max(dMax, rho * zMax, Number.MIN_VALUE);
  const deflated: number[] = [];
  const kept: number[] = [];
  if (rho * zMax <= tol) {
    deflated.push(...dSorted.keys());
  } else {
    let previous = -1;
    for (let j = 0; j < n; j++) {
      if (rho * Math.abs(zSorted[j]!) <= tol) {
        deflated.push(j);
        continue;
      }
      if (previous >= 0) {
        // two close poles: rotate so one z component vanishes (dlaed2)
        const s0 = zSorted[previous]!;
        const c0 = zSorted[j]!;
        const t = Math.hypot(c0, s0);
        const c = c0 / t;
        const s = -s0 / t;
        const gap = dSorted[j]! - dSorted[previous]!;
        if (Math.abs(gap * c * s) <= tol) {
          zSorted[j] = t;
          zSorted[previous] = 0;
          const a = columns[previous]!;
          const b = columns[j]!;
          for (let r = 0; r < n; r++) {
            const qa = q[r * n + a]!;
            const qb = q[r * n + b]!;
            q[r * n + a] = c * qa + s * qb;
            q[r * n + b] = c * qb - s * qa;
          }
          const dp = dSorted[previous]! * c * c + dSorted[j]! * s * s;
          dSorted[j] = dSorted[previous]! * s * s + dSorted[j]! * c * c;
          dSorted[previous] = dp;
          deflated.push(previous);
          previous = j;
          continue;
        }
        kept.push(previous);
      }
      previous = j;
    }
    if (previous >= 0) kept.push(previous);
  }
  const K = kept.length;
  const outValues: { value: number; column: Float64Array }[] = [];
  for (const j of deflated) {
    const column = new Float64Array(n);
    for (let r = 0; r < n; r++) column[r] = q[r * n + columns[j]!]!;
    outValues.push({ value: dSorted[j]!, column });
  }
  if (K > 0) {
    // the kept poles are ascending but a rotation may have moved one past its neighbour
    kept.sort((a, b) => dSorted[a]! - dSorted[b]!);
    const dK = Float64Array.from(kept, (j) => dSorted[j]!);
    const zK = Float64Array.from(kept, (j) => zSorted[j]!);
    let norm = 0;
    for (const v of zK) norm += v * v;
    const scale = Math.sqrt(norm);
    for (let j = 0; j < K; j++) zK[j]! /= scale;
    const merged = rankOneEigen(dK, zK, rho * norm);
    // new vectors = Q[:, kept] · U
    const qK = new Float64Array(n * K);
    for (let r = 0; r < n; r++) for (let j = 0; j < K; j++) qK[r * K + j] = q[r * n + columns[kept[j]!]!]!;
    const product = new Float64Array(n * K);
    await multiply(qK, merged.vectors, n, K, K, product);
    for (let i = 0; i < K; i++) {
      const column = new Float64Array(n);
      for (let r = 0; r < n; r++) column[r] = product[r * K + i]!;
      outValues.push({ value: merged.values[i]!, column });
    }
  }
  outValues.sort((a, b) => a.value - b.value);
  const vectors = new Float64Array(n * n);
  const sortedValues = new Float64Array(n);
  outValues.forEach(({ value, column }, j) => {
    sortedValues[j] = value;
    for (let r = 0; r < n; r++) vectors[r * n + j] = column[r]!;
  });
  return { values: sortedValues, vectors };
}

/**
 * Eigenvalues (ascending) and eigenvectors of the symmetric tridiagonal matrix with diagonal `d`
 * and subdiagonal `e`. Scaled to unit max-norm first (the deflation tolerances are absolute).
 */
export async function tridiagonalEigen(
  d: Float64Array,
  e: Float64Array,
  multiply: MatrixMultiply = multiplyInJs,
): Promise<Eigen> {
  const n = d.length;
  let scale = 0;
  for (const v of d) scale = Math.max(scale, Math.abs(v));
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  if (n === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) };
  if (scale === 0) {
    const vectors = new Float64Array(n * n);
    for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
    return { values: new Float64Array(n), vectors };
  }
  const result = await solve(
    d.map((v) => v / scale),
    e.map((v) => v / scale),
    multiply,
  );
  for (let i = 0; i < n; i++) result.values[i]! *= scale;
  return result;
}
