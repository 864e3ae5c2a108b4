/**
 * The CCA-family measures and Procrustes of one pair of layers, from the layers' factors
 * (layer-factors.ts: Xc = U_X R_X V_Xᵀ, Yc = U_Y R_Y V_Yᵀ) and M = U_Xᵀ U_Y. X is the row layer
 * (p₁ live features), Y the column layer (p₂); m = min(p₁, p₂).
 *
 * - cca       ρ̄ = Σ ρ_i / m, ρ_i the canonical correlations = singular values of Q_Xᵀ Q_Y for any
 *             orthonormal bases of the column spaces, here U_X and U_Y: ρ = σ(M).
 * - cca-r2    R²_CCA = Σ ρ_i² / m = ‖M‖²_F / m.
 * - svcca:T   each side cut to its top-k principal components (k: layer-factors.ts), whose span is
 *             U's first k columns: ρ̄ of M[:k₁, :k₂] over min(k₁, k₂) (Raghu et al. 2017).
 *             svcca-r2:T likewise with R²_CCA.
 * - pwcca     X → Y (Morcos et al. 2018): a_i the left singular vectors of M for its m largest
 *             singular values ρ_i, h_i = U_X a_i X's canonical variables, α_i = Σ_j |⟨h_i, x_j⟩| over
 *             X's centred live columns x_j — the column sums of |Xcᵀ U_X A| — and the value
 *             Σ α_i ρ_i / Σ α_i. Asymmetric.
 * - linreg    X → Y: R² of least squares, ‖Q_Xᵀ Yc‖²_F / ‖Yc‖²_F = ‖M R_Y‖²_F / ‖Yc‖²_F. Asymmetric.
 * - procrustes  ‖X̃ᵀỸ‖_* with X̃ = Xc/‖Xc‖_F: the nuclear norm of R_Xᵀ M R_Y over ‖Xc‖_F ‖Yc‖_F
 *             (V's have orthonormal columns, so they drop out); = 1 − d²/2 for the orthogonal
 *             Procrustes distance d (Ding et al. 2021).
 *
 * A value is undefined, with the first failing check as its reason ("<code>: <detail>"), in this
 * order, X before Y: non-finite, no-live-columns, then — cca, cca-r2, pwcca: too-few-examples
 * (p ≥ n) and rank-deficient (rank < p), X's pair of checks then Y's; linreg: the same for X only;
 * svcca: k ≥ n, then rank < k of the k kept components; procrustes: nothing more.
 */
import type { Multiply } from './linalg/householder-tridiagonal.js';
import { symmetricEigen, type SymmetricEigenProducts } from './linalg/symmetric-eigen.js';
import { RANK_EPS, svccaComponents, type LayerFactors } from './layer-factors.js';
import type { BaselineMeasure } from './types.js';

export type Outcome = { value: number; reason: null } | { value: null; reason: string };

export interface PairProducts extends SymmetricEigenProducts {
  multiply: Multiply;
}

const undefinedBecause = (reason: string): Outcome => ({ value: null, reason });
const valueOf = (value: number): Outcome =>
  Number.isFinite(value) ? { value, reason: null } : undefinedBecause('not a finite number');

function who(side: 'X' | 'Y', f: LayerFactors): string {
  return `${side} (layer '${f.layer.name}')`;
}

/** Checks every measure makes: non-finite, then no live columns (X, then Y). */
function usable(x: LayerFactors, y: LayerFactors): string | null {
  for (const [side, f] of [['X', x] as const, ['Y', y] as const]) {
    if (f.nonFinite) {
      const { value, example, feature } = f.nonFinite;
      return `non-finite: ${who(side, f)} holds ${value} at example ${example}, feature ${feature}`;
    }
  }
  for (const [side, f] of [['X', x] as const, ['Y', y] as const]) {
    if (f.live === 0) return `no-live-columns: every feature of ${who(side, f)} is constant over the ${f.n} examples`;
  }
  return null;
}

/** CCA needs n > p and full column rank, every direction resolved. */
function fullRank(side: 'X' | 'Y', f: LayerFactors): string | null {
  if (f.live >= f.n) {
    return `too-few-examples: ${who(side, f)} has p = ${f.live} live features ≥ n = ${f.n} examples (CCA needs more examples than features)`;
  }
  if (f.rank < f.live) return `rank-deficient: ${who(side, f)} has rank ${f.rank} < p = ${f.live} live features`;
  if (f.r < f.live) {
    return `rank-deficient: ${who(side, f)} has directions float64 cannot resolve (σ_min/σ_max = ${(f.sigma[f.live - 1]! / f.sigma[0]!).toExponential(1)})`;
  }
  return null;
}

/** SVCCA's side: k components kept, fewer than n, of full rank and resolved. */
function svccaSide(side: 'X' | 'Y', f: LayerFactors, keep: number): { k: number } | { reason: string } {
  const k = svccaComponents(f.sigma, keep);
  if (k >= f.n) {
    return { reason: `too-few-examples: ${who(side, f)} keeps k = ${k} components ≥ n = ${f.n} examples` };
  }
  const tolerance = Math.max(f.n, k) * RANK_EPS * f.sigma[0]!;
  let rank = 0;
  for (let i = 0; i < k; i++) if (f.sigma[i]! > tolerance) rank++;
  if (rank < k || k > f.r) {
    return {
      reason: `rank-deficient: ${who(side, f)}'s top ${k} principal components have rank ${Math.min(rank, f.r)} < ${k}`,
    };
  }
  return { k };
}

/** The a×b top-left block of a row-major matrix with `cols` columns. */
function block(m: Float64Array, cols: number, a: number, b: number): Float64Array {
  if (b === cols) return m.subarray(0, a * b);
  const out = new Float64Array(a * b);
  for (let i = 0; i < a; i++) out.set(m.subarray(i * cols, i * cols + b), i * b);
  return out;
}

export function transpose(m: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = m[row + j]!;
  }
  return out;
}

function frobeniusSq(m: Float64Array, length = m.length): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += m[i]! * m[i]!;
  return s;
}

/** B·Bᵀ (a×a) for B a×b. */
async function gramOfRows(b: Float64Array, a: number, c: number, products: PairProducts): Promise<Float64Array> {
  const out = new Float64Array(a * a);
  await products.multiply(b, transpose(b, a, c), a, c, a, out);
  return out;
}

/** Singular values (descending) of B (a×b): square roots of the eigenvalues of the smaller Gram. */
export async function singularValues(
  b: Float64Array,
  a: number,
  c: number,
  products: PairProducts,
): Promise<Float64Array> {
  const small = Math.min(a, c);
  if (small === 0) return new Float64Array(0);
  const gram = a <= c ? await gramOfRows(b, a, c, products) : await gramOfRows(transpose(b, a, c), c, a, products);
  const { values } = await symmetricEigen(gram, small, { vectors: false, products });
  return values.map((v) => Math.sqrt(Math.max(0, v)));
}

const sum = (values: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
};

/** R = diag(σ) (the n×n route keeps no R of its own). */
function isDiagonal(f: LayerFactors): boolean {
  return f.rFactor === null;
}

/** R_Xᵀ · M · R_Y (r₁×r₂); a diagonal R scales rows or columns instead of a product. */
async function sandwich(
  x: LayerFactors,
  m: Float64Array,
  y: LayerFactors,
  products: PairProducts,
): Promise<Float64Array> {
  const [a, b] = [x.r, y.r];
  const left = new Float64Array(a * b);
  if (isDiagonal(x)) {
    for (let i = 0; i < a; i++) {
      const s = x.sigma[i]!;
      for (let j = 0; j < b; j++) left[i * b + j] = s * m[i * b + j]!;
    }
  } else {
    await products.multiply(transpose(x.rFactor!, a, a), m, a, a, b, left);
  }
  if (isDiagonal(y)) {
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) left[i * b + j]! *= y.sigma[j]!;
    return left;
  }
  const out = new Float64Array(a * b);
  await products.multiply(left, y.rFactor!, a, b, b, out);
  return out;
}

/**
 * Why the measure is undefined for X = x, Y = y (the first failing check, "code: detail"), or null
 * when it has a value — decided from the factors alone, before any product.
 */
export function baselineReason(measure: BaselineMeasure, x: LayerFactors, y: LayerFactors): string | null {
  const problem = usable(x, y);
  if (problem) return problem;
  switch (measure.name) {
    case 'cca':
    case 'cca-r2':
    case 'pwcca':
      return fullRank('X', x) ?? fullRank('Y', y);
    case 'linreg':
      return fullRank('X', x);
    case 'svcca':
    case 'svcca-r2': {
      const sx = svccaSide('X', x, measure.keep);
      if ('reason' in sx) return sx.reason;
      const sy = svccaSide('Y', y, measure.keep);
      return 'reason' in sy ? sy.reason : null;
    }
    case 'procrustes':
      return null;
  }
}

/**
 * The measure for X = x, Y = y; `m` is U_Xᵀ U_Y (x.r × y.r, row-major), needed only when
 * `baselineReason` finds none.
 */
export async function baselineValue(
  measure: BaselineMeasure,
  x: LayerFactors,
  y: LayerFactors,
  m: Float64Array | null,
  products: PairProducts,
): Promise<Outcome> {
  const reason = baselineReason(measure, x, y);
  if (reason) return undefinedBecause(reason);
  const M = m!;
  const [r1, r2] = [x.r, y.r];
  switch (measure.name) {
    case 'cca':
    case 'cca-r2':
    case 'pwcca': {
      const count = Math.min(x.live, y.live);
      if (measure.name === 'cca-r2') return valueOf(frobeniusSq(M) / count);
      if (measure.name === 'cca') return valueOf(sum(await singularValues(M, r1, r2, products)) / count);
      return valueOf(await pwcca(x, M, r1, r2, count, products));
    }
    case 'linreg': {
      // ‖M R_Y‖²_F: with R_Y = diag(σ) a weighted sum of squares
      if (isDiagonal(y)) {
        let total = 0;
        for (let i = 0; i < r1; i++) for (let j = 0; j < r2; j++) total += (M[i * r2 + j]! * y.sigma[j]!) ** 2;
        return valueOf(total / y.frobeniusSq);
      }
      const predicted = new Float64Array(r1 * r2);
      await products.multiply(M, y.rFactor!, r1, r2, r2, predicted);
      return valueOf(frobeniusSq(predicted) / y.frobeniusSq);
    }
    case 'svcca':
    case 'svcca-r2': {
      const k1 = svccaComponents(x.sigma, measure.keep);
      const k2 = svccaComponents(y.sigma, measure.keep);
      const kept = block(M, r2, k1, k2);
      const count = Math.min(k1, k2);
      if (measure.name === 'svcca-r2') return valueOf(frobeniusSq(kept, k1 * k2) / count);
      return valueOf(sum(await singularValues(kept, k1, k2, products)) / count);
    }
    case 'procrustes': {
      const b = await sandwich(x, M, y, products);
      const nuclear = sum(await singularValues(b, r1, r2, products));
      return valueOf(nuclear / Math.sqrt(x.frobeniusSq * y.frobeniusSq));
    }
  }
}

/** PWCCA X → Y: Σ α_i ρ_i / Σ α_i over the m largest canonical correlations (see above). */
async function pwcca(
  x: LayerFactors,
  M: Float64Array,
  r1: number,
  r2: number,
  count: number,
  products: PairProducts,
): Promise<number> {
  // a_i, ρ_i² from M Mᵀ (r1×r1): its m largest eigenpairs
  const { values, vectors } = await symmetricEigen(await gramOfRows(M, r1, r2, products), r1, {
    vectors: true,
    products,
  });
  const a = block(vectors!, r1, r1, count); // r1 × m
  const weights = new Float64Array(x.live * count);
  await products.multiply(x.projection!, a, x.live, r1, count, weights); // Xcᵀ h_i as columns
  const alpha = new Float64Array(count);
  for (let j = 0; j < x.live; j++) {
    const row = j * count;
    for (let i = 0; i < count; i++) alpha[i]! += Math.abs(weights[row + i]!);
  }
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < count; i++) {
    numerator += alpha[i]! * Math.sqrt(Math.max(0, values[i]!));
    denominator += alpha[i]!;
  }
  return numerator / denominator;
}
