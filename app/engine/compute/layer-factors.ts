/**
 * One layer's factors for the CCA-family measures (cka/layer-factors.ts), in a worker thread:
 * Xc = U R V_rᵀ in float64, through the smaller of the two Grams so the cost grows with
 * min(n, p), never with p alone.
 *
 * - p < n (`covariance`): G = XcᵀXc (p×p, onnxruntime), G = V Λ Vᵀ (cka/linalg), Y = Xc V. The
 *   singular values are the column norms σ_i = ‖Xc v_i‖ (accurate to ~eps·σ_max, where √λ_i only
 *   resolves σ down to √eps·σ_max — what the rank rule needs). The first `rank` columns of Y,
 *   each scaled to unit length, are orthonormalised by CholeskyQR2 (Yamamoto et al. 2015): two
 *   passes Z ← Z chol(ZᵀZ)⁻¹; both keep the leading subspaces (the factors are upper triangular),
 *   so U's first k columns span Xc's top-k principal subspace. A column Cholesky finds in the span
 *   of the earlier ones (its direction below float64's resolution from the covariance, σ ≲
 *   1e-8·σ_max) ends the basis there (r < rank). Then R = R_chol · diag(σ), and Xcᵀ U = V_r Rᵀ.
 * - p ≥ n (`gram`): K = XcXcᵀ (n×n, onnxruntime), K = U Λ Uᵀ, σ = √λ; directions with σ below
 *   1e-6·σ_max get σ_i = ‖Xcᵀ u_i‖ instead (√λ is rounding there). R = diag(σ), not stored.
 */
import { WorkbenchError } from '../../common/errors.js';
import { cholesky, invertUpper } from '../cka/linalg/cholesky.js';
import { symmetricEigen } from '../cka/linalg/symmetric-eigen.js';
import { centredLiveColumns, rankOf, scanColumns, type LayerFactors } from '../cka/layer-factors.js';
import type { LayerRef } from '../cka/types.js';
import { loadActivations, type ActivationInput } from './activations-in.js';
import { ortEigenProducts, ortMultiply, ortMultiplyTransA, ortMultiplyTransB } from './linalg-products.js';
import { sharedFloat64 } from './shared-memory.js';
import type { Workspace } from './workspace.js';

/** A Cholesky pivot below this fraction of its column's squared norm: the column is not resolved. */
const MIN_PIVOT = 1e-10;
/** Below this σ/σ_max, √λ of the n×n Gram is refined by ‖Xcᵀ u‖. */
const REFINE_BELOW = 1e-6;

function emptyFactors(layer: LayerRef, n: number, features: number, live: number): LayerFactors {
  return {
    layer,
    n,
    features,
    live,
    nonFinite: null,
    frobeniusSq: 0,
    route: live < n ? 'covariance' : 'gram',
    sigma: new Float64Array(0),
    rank: 0,
    r: 0,
    u: new Float64Array(0),
    rFactor: null,
    projection: null,
  };
}

export async function layerFactors(
  input: ActivationInput,
  layer: LayerRef,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<LayerFactors> {
  const { x, n, features } = await loadActivations(input, workspace);
  const scan = scanColumns(x, n, features);
  if (scan.nonFinite) return { ...emptyFactors(layer, n, features, 0), nonFinite: scan.nonFinite };
  const p = scan.live.length;
  if (p === 0) return emptyFactors(layer, n, features, 0);
  const xc = workspace.get('factorCentred', Float64Array, n * p);
  const frobeniusSq = centredLiveColumns(x, n, features, scan, xc);
  const base = { ...emptyFactors(layer, n, features, p), frobeniusSq };
  if (frobeniusSq === 0) return base;
  return p < n
    ? { ...base, ...(await covarianceRoute(xc, n, p, workspace, intraOpThreads)) }
    : { ...base, ...(await gramRoute(xc, n, p, workspace, intraOpThreads)) };
}

type Factorisation = Pick<LayerFactors, 'route' | 'sigma' | 'rank' | 'r' | 'u' | 'rFactor' | 'projection'>;

async function covarianceRoute(
  xc: Float64Array,
  n: number,
  p: number,
  workspace: Workspace,
  threads: number,
): Promise<Factorisation> {
  const multiply = ortMultiply(threads);
  const g = new Float64Array(p * p);
  await ortMultiplyTransA(xc, xc, n, p, p, g, threads);
  const { vectors } = await symmetricEigen(g, p, { vectors: true, products: ortEigenProducts(threads) });
  const v = vectors!;
  const y = workspace.get('factorScores', Float64Array, n * p);
  await multiply(xc, v, n, p, p, y);
  const norms = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let j = 0; j < p; j++) norms[j]! += y[row + j]! * y[row + j]!;
  }
  // Principal order by σ_i = ‖Xc v_i‖ (directions of √λ below rounding sort last, whatever their λ)
  const order = Array.from(norms.keys()).sort((a, b) => norms[b]! - norms[a]!);
  const sigma = Float64Array.from(order, (j) => Math.sqrt(norms[j]!));
  const rank = rankOf(sigma, n, p);

  // Z: the first `rank` columns of Y in that order, each of unit length; CholeskyQR2, ending the
  // basis at the first column Cholesky finds in the span of the earlier ones
  const unitColumns = (cols: number) => {
    const z = new Float64Array(n * cols);
    for (let i = 0; i < n; i++) {
      const row = i * p;
      for (let c = 0; c < cols; c++) z[i * cols + c] = y[row + order[c]!]! / sigma[c]!;
    }
    return z;
  };
  let r = rank;
  let z = unitColumns(r);
  const gramOf = async (m: Float64Array, cols: number) => {
    const out = new Float64Array(cols * cols);
    await ortMultiplyTransA(m, m, n, cols, cols, out, threads);
    return out;
  };
  let first = cholesky(await gramOf(z, r), r, MIN_PIVOT);
  if (first.rank < r) {
    r = first.rank;
    z = unitColumns(r);
    first = cholesky(await gramOf(z, r), r, MIN_PIVOT);
    if (first.rank < r) throw new WorkbenchError('NUMERIC', 'CholeskyQR of a layer lost a column twice');
  }
  let u = new Float64Array(n * r);
  await multiply(z, invertUpper(first.factor, r), n, r, r, u);
  let rChol = first.factor;
  const check = await gramOf(u, r);
  let departure = 0;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < r; j++) departure = Math.max(departure, Math.abs(check[i * r + j]! - (i === j ? 1 : 0)));
  }
  if (departure > 1e-12) {
    // second pass: the first left U orthonormal only to ~eps·κ(Z)²
    const second = cholesky(check, r);
    if (second.rank < r) throw new WorkbenchError('NUMERIC', 'the second CholeskyQR pass of a layer broke down');
    const refined = new Float64Array(n * r);
    await multiply(u, invertUpper(second.factor, r), n, r, r, refined);
    u = refined;
    rChol = new Float64Array(r * r);
    await multiply(second.factor, first.factor, r, r, r, rChol);
  }
  // R = R_chol · diag(σ); projection = Xcᵀ U = V_r Rᵀ (p×r)
  const rFactor = sharedFloat64(r * r, 'CCA factors');
  const rt = new Float64Array(r * r);
  for (let i = 0; i < r; i++) {
    for (let j = i; j < r; j++) {
      rFactor[i * r + j] = rChol[i * r + j]! * sigma[j]!;
      rt[j * r + i] = rFactor[i * r + j]!;
    }
  }
  const vr = new Float64Array(p * r);
  for (let i = 0; i < p; i++) for (let c = 0; c < r; c++) vr[i * r + c] = v[i * p + order[c]!]!;
  const projected = new Float64Array(p * r);
  await multiply(vr, rt, p, r, r, projected);
  const projection = sharedFloat64(p * r, 'CCA factors');
  projection.set(projected);
  const shared = sharedFloat64(n * r, 'CCA factors');
  shared.set(u);
  return { route: 'covariance', sigma, rank, r, u: shared, rFactor, projection };
}

async function gramRoute(
  xc: Float64Array,
  n: number,
  p: number,
  workspace: Workspace,
  threads: number,
): Promise<Factorisation> {
  const k = new Float64Array(n * n);
  await ortMultiplyTransB(xc, xc, n, p, n, k, threads);
  const { values, vectors } = await symmetricEigen(k, n, { vectors: true, products: ortEigenProducts(threads) });
  const full = vectors!;
  const sigma = values.map((v) => Math.sqrt(Math.max(0, v)));
  // refine the tail: σ_i = ‖Xcᵀ u_i‖
  const tail: number[] = [];
  for (let j = 0; j < n; j++) if (sigma[j]! < REFINE_BELOW * sigma[0]!) tail.push(j);
  if (tail.length > 0) {
    const t = tail.length;
    const ut = new Float64Array(n * t);
    for (let i = 0; i < n; i++) tail.forEach((j, c) => (ut[i * t + c] = full[i * n + j]!));
    const projected = workspace.get('factorTail', Float64Array, p * t);
    await ortMultiplyTransA(xc, ut, n, p, t, projected, threads);
    const norms = new Float64Array(t);
    for (let i = 0; i < p; i++) for (let c = 0; c < t; c++) norms[c]! += projected[i * t + c]! ** 2;
    tail.forEach((j, c) => (sigma[j] = Math.sqrt(norms[c]!)));
  }
  const order = Array.from(sigma.keys()).sort((a, b) => sigma[b]! - sigma[a]!);
  const sorted = Float64Array.from(order, (j) => sigma[j]!);
  const rank = rankOf(sorted, n, p);
  const r = rank;
  const u = sharedFloat64(n * r, 'CCA factors');
  for (let i = 0; i < n; i++) for (let c = 0; c < r; c++) u[i * r + c] = full[i * n + order[c]!]!;
  return { route: 'gram', sigma: sorted, rank, r, u, rFactor: null, projection: null };
}
