/**
 * The matrix products of the float64 linear algebra in cka/linalg (eigen-decompositions,
 * CholeskyQR), in onnxruntime: large ones go to a Gemm session, small ones stay in plain loops
 * (a session call costs tens of microseconds). Runs inside a worker thread.
 */
import { multiplyInJs } from '../cka/linalg/divide-conquer.js';
import type { Multiply, Rank2kUpdate } from '../cka/linalg/householder-tridiagonal.js';
import type { SymmetricEigenProducts } from '../cka/linalg/symmetric-eigen.js';
import { gemmGraph, gemmTransAGraph, gemmTransBGraph } from './graphs.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import { isShared } from './shared-memory.js';

/** Below this many multiply-adds a product runs in plain loops. */
const SMALL_PRODUCT = 64 ** 3;

/** onnxruntime cannot read shared memory: a plain copy of the first `length` values if needed. */
function readable(a: Float64Array, length: number): Float64Array {
  const view = a.subarray(0, length);
  return isShared(view) ? view.slice() : view;
}

/** C = A·B (row-major float64) in onnxruntime. */
export function ortMultiply(intraOpThreads: number): Multiply {
  return async (a, b, m, k, n, out) => {
    if (m * k * n < SMALL_PRODUCT) return multiplyInJs(a, b, m, k, n, out);
    const gemm = await computeSession('gemm_nn_float64', () => gemmGraph('float64'), intraOpThreads);
    await runInto(
      gemm,
      { A: tensor(readable(a, m * k), [m, k]), B: tensor(readable(b, k * n), [k, n]) },
      { C: tensor(out.subarray(0, m * n), [m, n]) },
    );
  };
}

/** C = Aᵀ·B for A [n, p], B [n, q] (row-major float64) in onnxruntime. */
export async function ortMultiplyTransA(
  a: Float64Array,
  b: Float64Array,
  n: number,
  p: number,
  q: number,
  out: Float64Array,
  intraOpThreads: number,
): Promise<void> {
  const gemm = await computeSession('gemm_tn_float64', () => gemmTransAGraph('float64'), intraOpThreads);
  await runInto(
    gemm,
    { A: tensor(readable(a, n * p), [n, p]), B: tensor(readable(b, n * q), [n, q]) },
    { C: tensor(out.subarray(0, p * q), [p, q]) },
  );
}

/** C = A·Bᵀ for A [m, k], B [r, k] (row-major float64) in onnxruntime. */
export async function ortMultiplyTransB(
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  r: number,
  out: Float64Array,
  intraOpThreads: number,
): Promise<void> {
  const gemm = await computeSession('gemm_nt_float64', () => gemmTransBGraph('float64'), intraOpThreads);
  await runInto(
    gemm,
    { A: tensor(readable(a, m * k), [m, k]), B: tensor(readable(b, r * k), [r, k]) },
    { C: tensor(out.subarray(0, m * r), [m, r]) },
  );
}

/**
 * The blocked tridiagonalisation's trailing update A₂₂ −= V Wᵀ + W Vᵀ: one product
 * [V W]·[W V]ᵀ in onnxruntime, subtracted from the lower triangle.
 */
export function ortRank2kUpdate(intraOpThreads: number): Rank2kUpdate {
  return async (a, n, start, v, w, k) => {
    const m = n - start;
    const left = new Float64Array(m * 2 * k);
    const right = new Float64Array(m * 2 * k);
    for (let i = 0; i < m; i++) {
      left.set(v.subarray(i * k, (i + 1) * k), i * 2 * k);
      left.set(w.subarray(i * k, (i + 1) * k), i * 2 * k + k);
      right.set(w.subarray(i * k, (i + 1) * k), i * 2 * k);
      right.set(v.subarray(i * k, (i + 1) * k), i * 2 * k + k);
    }
    const update = new Float64Array(m * m);
    await ortMultiplyTransB(left, right, m, 2 * k, m, update, intraOpThreads);
    for (let i = 0; i < m; i++) {
      const row = (start + i) * n + start;
      const u = i * m;
      for (let j = 0; j <= i; j++) a[row + j]! -= update[u + j]!;
    }
  };
}

/** Products for cka/linalg's symmetric eigensolver: merges, trailing updates and the back-transform in onnxruntime. */
export function ortEigenProducts(intraOpThreads: number): SymmetricEigenProducts {
  return { multiply: ortMultiply(intraOpThreads), rank2kUpdate: ortRank2kUpdate(intraOpThreads), panel: 32 };
}
