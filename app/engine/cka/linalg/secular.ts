/**
 * Eigen-decomposition of a diagonal matrix plus a rank-one update, D + ρ z zᵀ (ρ > 0, ‖z‖ = 1,
 * d ascending and distinct after deflation): the merge step of divide and conquer (Cuppen 1981;
 * Gu & Eisenstat 1995; LAPACK dlaed2–dlaed4).
 *
 * The eigenvalues are the roots of the secular equation
 *     g(λ) = 1/ρ + Σⱼ zⱼ² / (dⱼ − λ) = 0,
 * one in each (dᵢ, dᵢ₊₁) and the last in (d_K, d_K + ρ). Each root is found relative to its nearer
 * pole (λ = d_origin + τ) so every difference dⱼ − λ = (dⱼ − d_origin) − τ keeps full relative
 * accuracy; the step is the "middle way" rational model of the two nearest poles (Li 1993, as in
 * dlaed4), safeguarded by bisection. The eigenvectors are uᵢ ∝ ẑ / (d − λᵢ), where ẑ is recomputed
 * from the computed roots (Löwner: ẑᵢ² = Πⱼ(λⱼ − dᵢ) / Π_{j≠i}(dⱼ − dᵢ) up to ρ) so that they are
 * orthogonal to working precision however close the roots are.
 */
import { WorkbenchError } from '../../../common/errors.js';

const EPS = 2 ** -52;
const MAX_ITERATIONS = 200;

interface Root {
  /** Index of the pole the root is measured from. */
  origin: number;
  tau: number;
}

/** The i-th root of g (0-based), K = d.length. */
function secularRoot(d: Float64Array, z2: Float64Array, rho: number, i: number): Root {
  const K = d.length;
  const rhoInv = 1 / rho;
  const last = i === K - 1;
  let origin: number;
  let lo: number; // bracket of τ
  let hi: number;
  if (last) {
    origin = i;
    lo = 0;
    hi = rho; // ‖z‖ = 1
  } else {
    const gap = d[i + 1]! - d[i]!;
    const mid = gap / 2;
    // g at the midpoint decides which pole the root is nearer to
    let g = rhoInv;
    for (let j = 0; j < K; j++) g += z2[j]! / (d[j]! - d[i]! - mid);
    if (g > 0) {
      origin = i;
      lo = 0;
      hi = mid;
    } else {
      origin = i + 1;
      lo = -mid;
      hi = 0;
    }
  }
  const dOrigin = d[origin]!;
  let tau = (lo + hi) / 2;
  let settled = false;
  for (let iteration = 0; iteration < MAX_ITERATIONS && !settled; iteration++) {
    // g, and the derivatives of its left (ψ, j ≤ i) and right (φ, j > i) parts
    let psi = 0;
    let phi = 0;
    let dpsi = 0;
    let dphi = 0;
    let bound = 0;
    for (let j = 0; j < K; j++) {
      const delta = d[j]! - dOrigin - tau;
      const t = z2[j]! / delta;
      if (j <= i) {
        psi += t;
        dpsi += t / delta;
      } else {
        phi += t;
        dphi += t / delta;
      }
      bound += Math.abs(t);
    }
    const g = rhoInv + psi + phi;
    // |g| at its rounding error, or the bracket down to adjacent doubles: converged
    if (Math.abs(g) <= 8 * EPS * (rhoInv + bound)) break;
    if (g < 0) lo = tau;
    else hi = tau;
    if (!(hi - lo > 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi)))) break;
    let eta: number;
    const di = d[i]! - dOrigin - tau;
    if (last) {
      // one pole on the left: g ≈ C + s/(Δ − η), s = Δ² g′, C = g − Δ g′
      const dg = dpsi;
      const C = g - di * dg;
      eta = C !== 0 ? di + (di * di * dg) / C : NaN;
    } else {
      const dj = d[i + 1]! - dOrigin - tau;
      const C = g - di * dpsi - dj * dphi;
      const a = (di + dj) * g - di * dj * (dpsi + dphi);
      const b = di * dj * g;
      const disc = Math.sqrt(Math.abs(a * a - 4 * b * C));
      eta = a <= 0 ? (C !== 0 ? (a - disc) / (2 * C) : NaN) : (2 * b) / (a + disc);
    }
    let next = tau + eta;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    settled = next === tau;
    tau = next;
    if (iteration === MAX_ITERATIONS - 1) {
      throw new WorkbenchError('NUMERIC', 'the secular equation of a divide-and-conquer merge did not converge');
    }
  }
  return { origin, tau };
}

/**
 * Eigenvalues (ascending) and eigenvectors of diag(d) + ρ z zᵀ. Requires d strictly ascending,
 * ρ > 0, ‖z‖ = 1 and no zⱼ negligible (deflation removed those). Returns K×K row-major vectors
 * (column i = eigenvector i).
 */
export function rankOneEigen(
  d: Float64Array,
  z: Float64Array,
  rho: number,
): { values: Float64Array; vectors: Float64Array } {
  const K = d.length;
  const values = new Float64Array(K);
  const vectors = new Float64Array(K * K);
  if (K === 1) {
    values[0] = d[0]! + rho * z[0]! * z[0]!;
    vectors[0] = 1;
    return { values, vectors };
  }
  const z2 = new Float64Array(K);
  for (let j = 0; j < K; j++) z2[j] = z[j]! * z[j]!;
  // delta[j * K + i] = d_j − λ_i, accurately
  const delta = new Float64Array(K * K);
  for (let i = 0; i < K; i++) {
    const { origin, tau } = secularRoot(d, z2, rho, i);
    values[i] = d[origin]! + tau;
    for (let j = 0; j < K; j++) delta[j * K + i] = d[j]! - d[origin]! - tau;
  }
  // Löwner: ẑⱼ² = −Πᵢ (dⱼ − λᵢ) / Π_{i≠j} (dⱼ − dᵢ), interleaved to stay in range
  const zHat = new Float64Array(K);
  for (let j = 0; j < K; j++) {
    let w = delta[j * K + j]!;
    for (let i = 0; i < K; i++) {
      if (i === j) continue;
      w *= delta[j * K + i]! / (d[j]! - d[i]!);
    }
    zHat[j] = Math.sign(z[j]!) * Math.sqrt(Math.max(0, -w));
  }
  for (let i = 0; i < K; i++) {
    let norm = 0;
    for (let j = 0; j < K; j++) {
      const u = zHat[j]! / delta[j * K + i]!;
      vectors[j * K + i] = u;
      norm += u * u;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < K; j++) vectors[j * K + i]! *= inv;
  }
  return { values, vectors };
}
