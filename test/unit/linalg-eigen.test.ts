/**
 * cka/linalg's symmetric eigensolver against numpy's (LAPACK dsyevd) eigenvalues of the matrices in
 * test/fixtures/linalg/make_eigen_fixtures.py — built here from the same formulas — and its
 * eigenvectors by their residual ‖A x − λ x‖ and orthogonality, in plain loops and with the
 * onnxruntime products the compute workers use. Cholesky and the triangular inverse by their
 * defining identities.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cholesky, invertUpper } from '../../app/engine/cka/linalg/cholesky.js';
import { symmetricEigen, type SymmetricEigenProducts } from '../../app/engine/cka/linalg/symmetric-eigen.js';
import { ortEigenProducts } from '../../app/engine/compute/linalg-products.js';

const expected = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/linalg/eigen.json', import.meta.url)), 'utf8'),
) as Record<string, { n: number; values: number[]; norm2: number }>;

function symmetric(n: number, entry: (i: number, j: number) => number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = entry(i, j);
  return a;
}

const wilkinson = (n: number) => (i: number, j: number) => (i === j ? Math.abs(i - (n - 1) / 2) : i - j === 1 ? 1 : 0);

function gradedGram(n: number, p: number): Float64Array {
  const x = new Float64Array(n * p);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < p; j++) x[i * p + j] = ((((3 * i + 5 * j + i * j) % 11) - 5) / 4) * 2 ** -Math.floor(j / 4);
  return symmetric(p, (i, j) => {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[k * p + i]! * x[k * p + j]!;
    return s;
  });
}

const matrices: Record<string, () => Float64Array> = {
  'patterned-40': () => symmetric(40, (i, j) => (((7 * i + 13 * j + i * j) % 17) - 8) / 8),
  'patterned-150': () => symmetric(150, (i, j) => (((7 * i + 13 * j + i * j) % 17) - 8) / 8),
  'graded-gram-120': () => gradedGram(200, 120),
  'wilkinson-21': () => symmetric(21, wilkinson(21)),
  'glued-wilkinson-4x25': () =>
    symmetric(100, (i, j) => {
      const [bi, bj] = [Math.floor(i / 25), Math.floor(j / 25)];
      if (bi === bj) return wilkinson(25)(i % 25, j % 25);
      return i - j === 1 && i % 25 === 0 ? 2 ** -20 : 0;
    }),
  'ones-50': () => new Float64Array(2500).fill(1),
  'repeated-diagonal-40': () => symmetric(40, (i, j) => (i === j ? Math.floor(i / 5) : 0)),
};

async function check(name: string, products?: SymmetricEigenProducts) {
  const { n, values: reference, norm2 } = expected[name]!;
  const a = matrices[name]!();
  const original = a.slice();
  const options = products ? { products } : {};
  const onlyValues = await symmetricEigen(a.slice(), n, { vectors: false, ...options });
  const { values, vectors } = await symmetricEigen(a, n, { vectors: true, ...options });
  const tolerance = 64 * 2 ** -52 * norm2 * Math.sqrt(n);
  reference.forEach((v, i) => {
    expect(Math.abs(values[i]! - v)).toBeLessThanOrEqual(tolerance);
    expect(Math.abs(onlyValues.values[i]! - v)).toBeLessThanOrEqual(tolerance);
  });
  const x = vectors!;
  let residual = 0;
  let orthogonality = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += original[i * n + k]! * x[k * n + j]!;
      residual = Math.max(residual, Math.abs(s - values[j]! * x[i * n + j]!));
    }
    for (let l = 0; l <= j; l++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += x[k * n + j]! * x[k * n + l]!;
      orthogonality = Math.max(orthogonality, Math.abs(s - (j === l ? 1 : 0)));
    }
  }
  expect(residual).toBeLessThanOrEqual(tolerance);
  expect(orthogonality).toBeLessThanOrEqual(64 * 2 ** -52 * Math.sqrt(n));
}

describe('symmetric eigensolver (Householder, QL, divide and conquer) against numpy', () => {
  it.each(Object.keys(matrices))('%s in plain loops', (name) => check(name));
  it.each(['patterned-150', 'graded-gram-120', 'glued-wilkinson-4x25'])(
    '%s with the onnxruntime products (blocked reduction, merges, compact WY back-transform)',
    (name) => check(name, ortEigenProducts(1, { panel: 8, small: 20 })),
  );
});

describe('Cholesky and triangular inverse', () => {
  it('factor G = RᵀR, R⁻¹R = I, and stop at a column in the span of the earlier ones', () => {
    const n = 6;
    const g = symmetric(n, (i, j) => (i === j ? n + i : 1 / (1 + i + j)));
    const { factor: r, rank } = cholesky(g, n);
    expect(rank).toBe(n);
    const inv = invertUpper(r, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let rtr = 0;
        let identity = 0;
        for (let k = 0; k < n; k++) {
          rtr += r[k * n + i]! * r[k * n + j]!;
          identity += inv[i * n + k]! * r[k * n + j]!;
        }
        expect(Math.abs(rtr - g[i * n + j]!)).toBeLessThan(1e-13);
        expect(Math.abs(identity - (i === j ? 1 : 0))).toBeLessThan(1e-13);
      }
    // column 3 = column 0 + column 1 of X, so the Gram's fourth pivot vanishes
    const x = [
      [1, 0, 2, 1],
      [0, 1, 1, 1],
      [1, 1, 0, 2],
    ];
    const gram = symmetric(4, (i, j) => x.reduce((s, row) => s + row[i]! * row[j]!, 0));
    const partial = cholesky(gram, 4, 1e-12);
    expect(partial.rank).toBe(3);
  });
});
