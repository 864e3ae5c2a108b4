/**
 * What a layer contributes to the CCA-family measures (cca-family.ts), computed once per layer
 * however many pairs it takes part in: its preprocessing and a thin SVD of its centred activations.
 *
 * The rules, each as written in test/fixtures/cca/make_cca_fixtures.py:
 * - non-finite: any NaN or ±Inf anywhere in the layer's activations (dead columns included) makes
 *   every measure on it undefined;
 * - centring: each column's float64 mean over the n examples is subtracted;
 * - dead column: max_i |x_ij − mean_j| ≤ 1e-10 · max_i |x_ij| (an all-zero column is dead; the
 *   tolerance is relative because a float64 constant does not centre to exact zeros); dead
 *   columns are dropped before anything else and p counts the others ("live");
 * - rank: #{σ_i > max(n, p) · 2⁻⁵² · σ_max} (numpy.linalg.matrix_rank's default); rank < p is
 *   rank deficient;
 * - SVCCA keeps the fewest k leading principal components with Σ_{i≤k} σ_i² / Σ σ_i² ≥ T.
 *
 * The factorisation: Xc = U R V_rᵀ with U (n×r) orthonormal, R (r×r) upper triangular and V_r (p×r)
 * orthonormal, r the directions resolved (U's leading k columns span the top-k principal subspace
 * for every k ≤ r). See compute/layer-factors.ts for how it is computed.
 */
import type { LayerRef, NonFiniteValue } from './types.js';

/** Relative tolerance of the dead-column rule. */
export const DEAD_COLUMN_TOLERANCE = 1e-10;
/** numpy's machine epsilon, in the rank rule. */
export const RANK_EPS = 2 ** -52;

export interface LayerFactors {
  layer: LayerRef;
  n: number;
  /** Features as given. */
  features: number;
  /** Live (non-dead) features: the p of every rule. */
  live: number;
  /** The first NaN/±Inf, if any (then nothing else is computed). */
  nonFinite: NonFiniteValue | null;
  /** ‖Xc‖²_F over the live columns. */
  frobeniusSq: number;
  /** `covariance`: from the p×p XcᵀXc (p < n); `gram`: from the n×n XcXcᵀ (p ≥ n). */
  route: 'covariance' | 'gram';
  /** Singular values σ_1 ≥ σ_2 ≥ … of Xc, min(n, p) of them (the smallest may be rounding). */
  sigma: Float64Array;
  /** Rank by the rule above. */
  rank: number;
  /** Directions resolved: U's columns (≤ rank). */
  r: number;
  /** n×r row-major, orthonormal columns (shared memory). */
  u: Float64Array;
  /**
   * r×r row-major upper triangular (shared memory), Xc V_r = U R; null for the `gram` route, whose
   * R is diag(σ_1 … σ_r).
   */
  rFactor: Float64Array | null;
  /** p×r row-major Xcᵀ U = V_r Rᵀ (`covariance` route only; PWCCA's weights). */
  projection: Float64Array | null;
}

/** Column statistics of raw activations x [n, p]: what is dead, the means, non-finite values. */
export interface ColumnScan {
  nonFinite: NonFiniteValue | null;
  /** Indices of the live columns, ascending. */
  live: Int32Array;
  /** Float64 column means (all p columns). */
  means: Float64Array;
}

export function scanColumns(x: ArrayLike<number>, n: number, p: number): ColumnScan {
  const means = new Float64Array(p);
  const largest = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) {
      const v = x[row + j]!;
      if (!Number.isFinite(v)) {
        return { nonFinite: { example: i, feature: j, value: v }, live: new Int32Array(0), means };
      }
      means[j]! += v;
      const a = Math.abs(v);
      if (a > largest[j]!) largest[j] = a;
    }
  }
  for (let j = 0; j < p; j++) means[j]! /= n;
  const spread = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) {
      const a = Math.abs(x[row + j]! - means[j]!);
      if (a > spread[j]!) spread[j] = a;
    }
  }
  const live: number[] = [];
  for (let j = 0; j < p; j++) if (spread[j]! > DEAD_COLUMN_TOLERANCE * largest[j]!) live.push(j);
  return { nonFinite: null, live: Int32Array.from(live), means };
}

/** The centred live columns as a float64 n × live.length row-major matrix (into `out`); returns ‖Xc‖²_F. */
export function centredLiveColumns(
  x: ArrayLike<number>,
  n: number,
  p: number,
  scan: ColumnScan,
  out: Float64Array,
): number {
  const { live, means } = scan;
  const q = live.length;
  let frobeniusSq = 0;
  for (let i = 0; i < n; i++) {
    const row = i * p;
    const dst = i * q;
    for (let c = 0; c < q; c++) {
      const j = live[c]!;
      const v = x[row + j]! - means[j]!;
      out[dst + c] = v;
      frobeniusSq += v * v;
    }
  }
  return frobeniusSq;
}

/** #{σ_i > max(n, p) · 2⁻⁵² · σ_max}: numpy.linalg.matrix_rank's rule. */
export function rankOf(sigma: ArrayLike<number>, n: number, p: number): number {
  const tolerance = Math.max(n, p) * RANK_EPS * (sigma[0] ?? 0);
  let rank = 0;
  for (let i = 0; i < sigma.length; i++) if (sigma[i]! > tolerance) rank++;
  return rank;
}

/** SVCCA's components: the smallest k with Σ_{i≤k} σ_i² / Σ_i σ_i² ≥ keep (over all singular values). */
export function svccaComponents(sigma: ArrayLike<number>, keep: number): number {
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += sigma[i]! * sigma[i]!;
  let sum = 0;
  for (let k = 0; k < sigma.length; k++) {
    sum += sigma[k]! * sigma[k]!;
    if (sum / total >= keep) return k + 1;
  }
  return sigma.length;
}
