/**
 * The matrix products of the float64 linear algebra in cka/linalg (eigen-decompositions,
 * CholeskyQR), in onnxruntime: large ones go to a Gemm session, small ones stay in plain loops
 * (a session call costs tens of microseconds). Runs inside a worker thread.
 */
import { multiplyInJs } from '../cka/linalg/divide-conquer.js';
import type { Multiply } from '../cka/linalg/householder-tridiagonal.js';
import type { SymmetricEigenProducts } from '../cka/linalg/symmetric-eigen.js';
import { gemmGraph, gemmTransAGraph, gemmTransBGraph } from './graphs.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import { isShared } from './shared-memory.js';
import { tridiagonaliseOrt, type TridiagonalBlocking } from './tridiagonal-ort.js';

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

/** Products for cka/linalg's symmetric eigensolver: the reduction, the merges and the back-transform in onnxruntime. */
export function ortEigenProducts(intraOpThreads: number, blocking?: TridiagonalBlocking): SymmetricEigenProducts {
  return {
    multiply: ortMultiply(intraOpThreads),
    tridiagonalise: (a, n) => tridiagonaliseOrt(a, n, intraOpThreads, blocking),
  };
}
