/**
 * The symmetric eigenproblem A = X Λ Xᵀ in float64: Householder tridiagonalisation, then the
 * tridiagonal eigenvalues by implicit QL (values only, O(n²)) or eigenvalues and eigenvectors by
 * divide and conquer, and the tridiagonal's eigenvectors turned into A's by applying the
 * reflectors (X = Q Z). Backward stable: the computed pairs are exact for A + E with
 * ‖E‖ ≈ c·eps·‖A‖, so every eigenvalue has an absolute error of that order.
 *
 * The heavy steps can be handed to matrix-product routines (`SymmetricEigenProducts`); the
 * compute workers pass onnxruntime ones. Left out, everything runs in plain loops.
 */
import { tridiagonalEigen, multiplyInJs, type MatrixMultiply } from './divide-conquer.js';
import { applyQ, applyQBlocked, tridiagonalise, type Tridiagonal } from './householder-tridiagonal.js';
import { tridiagonalEigenvalues } from './tridiagonal-ql.js';

export interface SymmetricEigenProducts {
  /** C = A·B (divide-and-conquer merges, the compact-WY back-transform). */
  multiply?: MatrixMultiply;
  /** The reduction to tridiagonal form (reads both triangles of `a`); default: plain loops on the lower one. */
  tridiagonalise?: (a: Float64Array, n: number) => Promise<Tridiagonal>;
}

export interface SymmetricEigen {
  /** Descending. */
  values: Float64Array;
  /** n×n row-major, column j the unit eigenvector of values[j]; null when not asked for. */
  vectors: Float64Array | null;
}

function reverseColumns(values: Float64Array, vectors: Float64Array | null, n: number): SymmetricEigen {
  const out = values.slice().reverse();
  if (!vectors) return { values: out, vectors: null };
  const reversed = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const row = r * n;
    for (let j = 0; j < n; j++) reversed[row + j] = vectors[row + n - 1 - j]!;
  }
  return { values: out, vectors: reversed };
}

/**
 * Eigenvalues (descending) and optionally eigenvectors of the symmetric n×n row-major matrix `a`
 * (both triangles stored; `a` is destroyed).
 */
export async function symmetricEigen(
  a: Float64Array,
  n: number,
  options: { vectors: boolean; products?: SymmetricEigenProducts },
): Promise<SymmetricEigen> {
  const products = options.products ?? {};
  const t = products.tridiagonalise ? await products.tridiagonalise(a, n) : tridiagonalise(a, n);
  if (!options.vectors) return reverseColumns(tridiagonalEigenvalues(t.d, t.e), null, n);
  const { values, vectors } = await tridiagonalEigen(t.d, t.e, products.multiply ?? multiplyInJs);
  if (products.multiply) await applyQBlocked(t, vectors, n, products.multiply);
  else applyQ(t, vectors, n);
  return reverseColumns(values, vectors, n);
}
