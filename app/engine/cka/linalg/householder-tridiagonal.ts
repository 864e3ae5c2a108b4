/**
 * Householder reduction of a symmetric matrix to tridiagonal form, A = Q T Qᵀ (Golub & Van Loan,
 * §8.3.1; LAPACK dsytd2 with the lower triangle), and applying Q to vectors afterwards.
 *
 * Storage: A is n×n row-major and only its lower triangle (j ≤ i) is read and written, so every
 * inner loop runs along a row. Step k reflects rows/columns k+1…n−1 with H_k = I − τ_k v_k v_kᵀ
 * (v_k[0] = 1) so that column k becomes (d_k, e_k, 0, …); the trailing block gets
 * A₂₂ ← H A₂₂ H = A₂₂ − v wᵀ − w vᵀ with p = τ A₂₂ v and w = p − (τ/2)(pᵀv) v. Q = H_0 H_1 ⋯ H_{n−3}.
 *
 * The trailing update can be handed to a matrix-product routine (blocked, `panel` columns at a
 * time, LAPACK dlatrd): see `tridiagonalise`'s `update` hook. Without it everything runs here.
 */

export interface Tridiagonal {
  n: number;
  /** Diagonal, n values. */
  d: Float64Array;
  /** Subdiagonal, n − 1 values (e[k] = T[k+1, k]). */
  e: Float64Array;
  /** Reflectors: v_k[1…] for step k is stored in `vectors` row k, columns k+2…n−1 (row-major n×n). */
  vectors: Float64Array;
  tau: Float64Array;
}

/**
 * The Householder vector of x (LAPACK dlarfg): H x = β e₁ with H = I − τ v vᵀ, v[0] = 1.
 * Overwrites x[1…] with v[1…]; returns τ and β (τ = 0: x is already β e₁).
 */
export function householder(x: Float64Array, offset: number, length: number): { tau: number; beta: number } {
  const alpha = x[offset]!;
  let scale = 0;
  for (let i = 1; i < length; i++) scale = Math.max(scale, Math.abs(x[offset + i]!));
  if (scale === 0) return { tau: 0, beta: alpha };
  // ‖x[1…]‖ without overflow or underflow
  let sum = 0;
  for (let i = 1; i < length; i++) {
    const v = x[offset + i]! / scale;
    sum += v * v;
  }
  const norm = scale * Math.sqrt(sum);
  const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, norm);
  const tau = (beta - alpha) / beta;
  const inv = 1 / (alpha - beta);
  for (let i = 1; i < length; i++) x[offset + i]! *= inv;
  return { tau, beta };
}

/**
 * The hook for the blocked reduction: A₂₂ ← A₂₂ − V Wᵀ − W Vᵀ over rows/columns
 * [start, n) of the lower triangle, with V and W m×k row-major (m = n − start). Returns after the
 * matrix holds the update (the full square may be written; only the lower triangle is read).
 */
export type Rank2kUpdate = (
  a: Float64Array,
  n: number,
  start: number,
  v: Float64Array,
  w: Float64Array,
  k: number,
) => Promise<void>;

/** Reduces the lower triangle of `a` (n×n, row-major, destroyed) to tridiagonal form. */
export async function tridiagonalise(
  a: Float64Array,
  n: number,
  options: { update?: Rank2kUpdate; panel?: number } = {},
): Promise<Tridiagonal> {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const tau = new Float64Array(Math.max(0, n - 1));
  const vectors = new Float64Array(n * n);
  const x = new Float64Array(n);
  const p = new Float64Array(n);
  const panel = options.update ? Math.max(1, options.panel ?? 32) : n;

  let k = 0;
  while (k < n - 2) {
    const blockEnd = Math.min(n - 2, k + panel);
    const blocked = options.update !== undefined && n - k > 2 * panel;
    // Blocked panel (dlatrd): V and W of the panel's steps, the trailing matrix updated once at the end.
    const width = blockEnd - k;
    const m0 = n - k; // rows of the panel's V/W, from row k
    const V = blocked ? new Float64Array(m0 * width) : null;
    const W = blocked ? new Float64Array(m0 * width) : null;
    for (let j = k; j < blockEnd; j++) {
      const col = j - k;
      const m = n - j - 1;
      if (blocked && col > 0) {
        // Bring column j (rows j…n−1, lower part) up to date with the panel's earlier steps:
        // a[i][j] −= Σ_c V[i][c] W[j][c] + W[i][c] V[j][c].
        for (let i = j; i < n; i++) {
          let s = 0;
          const vi = (i - k) * width;
          const vj = (j - k) * width;
          for (let c = 0; c < col; c++) s += V![vi + c]! * W![vj + c]! + W![vi + c]! * V![vj + c]!;
          a[i * n + j]! -= s;
        }
      }
      d[j] = a[j * n + j]!;
      for (let i = 0; i < m; i++) x[i] = a[(j + 1 + i) * n + j]!;
      const { tau: t, beta } = householder(x, 0, m);
      e[j] = beta;
      tau[j] = t;
      x[0] = 1;
      for (let i = 1; i < m; i++) vectors[j * n + j + 1 + i] = x[i]!;
      if (t === 0) {
        if (blocked) {
          for (let i = 0; i < m0; i++) V![i * width + col] = W![i * width + col] = 0;
        }
        continue;
      }
      // p = τ A₂₂ v over the lower triangle of rows/columns j+1…n−1 (each entry used twice).
      p.fill(0, 0, m);
      for (let i = 0; i < m; i++) {
        const row = (j + 1 + i) * n + j + 1;
        const vi = x[i]!;
        let s = 0;
        for (let c = 0; c < i; c++) {
          const aic = a[row + c]!;
          s += aic * x[c]!;
          p[c]! += aic * vi;
        }
        p[i]! += s + a[row + i]! * vi;
      }
      if (blocked && col > 0) {
        // The panel's pending update: p −= (V Wᵀ + W Vᵀ) v over rows j+1…
        const vw = new Float64Array(col);
        const ww = new Float64Array(col);
        for (let i = 0; i < m; i++) {
          const r = (j + 1 + i - k) * width;
          for (let c = 0; c < col; c++) {
            vw[c]! += W![r + c]! * x[i]!;
            ww[c]! += V![r + c]! * x[i]!;
          }
        }
        for (let i = 0; i < m; i++) {
          const r = (j + 1 + i - k) * width;
          let s = 0;
          for (let c = 0; c < col; c++) s += V![r + c]! * vw[c]! + W![r + c]! * ww[c]!;
          p[i]! -= s;
        }
      }
      let pv = 0;
      for (let i = 0; i < m; i++) {
        p[i]! *= t;
        pv += p[i]! * x[i]!;
      }
      const half = 0.5 * t * pv;
      for (let i = 0; i < m; i++) p[i]! -= half * x[i]!; // p is now w
      if (blocked) {
        // Record v and w (rows j+1…; rows k…j are zero), apply later in one product.
        for (let i = 0; i < m0; i++) {
          const r = i * width + col;
          const at = i - (j + 1 - k);
          V![r] = at >= 0 ? x[at]! : 0;
          W![r] = at >= 0 ? p[at]! : 0;
        }
      } else {
        // A₂₂ ← A₂₂ − v wᵀ − w vᵀ (lower triangle)
        for (let i = 0; i < m; i++) {
          const row = (j + 1 + i) * n + j + 1;
          const vi = x[i]!;
          const wi = p[i]!;
          for (let c = 0; c <= i; c++) a[row + c]! -= vi * p[c]! + wi * x[c]!;
        }
      }
    }
    if (blocked) {
      // Rows/columns blockEnd… get the whole panel's update at once.
      const start = blockEnd;
      const rows = n - start;
      const v = V!.subarray((start - k) * width, m0 * width);
      const w = W!.subarray((start - k) * width, m0 * width);
      await options.update!(a, n, start, v.slice(0, rows * width), w.slice(0, rows * width), width);
    }
    k = blockEnd;
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + n - 2]!;
    e[n - 2] = a[(n - 1) * n + n - 2]!;
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + n - 1]!;
  return { n, d, e, vectors, tau };
}

/** C = A·B for row-major A (m×k), B (k×n) into `out` (m×n). */
export type Multiply = (
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  out: Float64Array,
) => Promise<void>;

/**
 * X ← Q X as `applyQ`, `block` reflectors at a time in the compact WY form (Schreiber & Van Loan
 * 1989; LAPACK dlarft/dlarfb): H_k ⋯ H_{k+b−1} = I − V T Vᵀ with T upper triangular, so each block
 * is two matrix products, W = Vᵀ X and X −= V (T W), handed to `multiply`.
 */
export async function applyQBlocked(
  t: Tridiagonal,
  x: Float64Array,
  cols: number,
  multiply: Multiply,
  block = 64,
): Promise<void> {
  const { n, vectors, tau } = t;
  const last = n - 3;
  if (last < 0) return;
  const firstBlock = Math.floor(last / block) * block;
  for (let k0 = firstBlock; k0 >= 0; k0 -= block) {
    const k1 = Math.min(last + 1, k0 + block); // reflectors k0…k1−1, acting on rows k0+1…n−1
    const b = k1 - k0;
    const m = n - k0 - 1;
    if (m * cols < 4096 || b === 1) {
      applyQ(t, x, cols, k1 - 1, k0);
      continue;
    }
    // Vᵀ (b×m): row c is reflector k0+c over rows k0+1…, zero above its own start, 1 at it
    const vt = new Float64Array(b * m);
    for (let c = 0; c < b; c++) {
      const k = k0 + c;
      vt[c * m + c] = 1;
      for (let i = k + 2; i < n; i++) vt[c * m + (i - k0 - 1)] = vectors[k * n + i]!;
    }
    // T (dlarft, forward, columnwise): T[c][c] = τ_c, T[0:c, c] = −τ_c T[0:c, 0:c] (V[:, 0:c]ᵀ v_c)
    const T = new Float64Array(b * b);
    const dots = new Float64Array(b);
    for (let c = 0; c < b; c++) {
      const tc = tau[k0 + c]!;
      T[c * b + c] = tc;
      if (tc === 0) continue;
      for (let r = 0; r < c; r++) {
        let s = 0;
        for (let i = c; i < m; i++) s += vt[r * m + i]! * vt[c * m + i]!;
        dots[r] = s;
      }
      for (let r = 0; r < c; r++) {
        let s = 0;
        for (let q = r; q < c; q++) s += T[r * b + q]! * dots[q]!;
        T[r * b + c] = -tc * s;
      }
    }
    const sub = x.subarray((k0 + 1) * cols, n * cols);
    const w = new Float64Array(b * cols);
    await multiply(vt, sub, b, m, cols, w);
    // W ← T W (T upper triangular, small)
    const tw = new Float64Array(b * cols);
    for (let r = 0; r < b; r++) {
      const out = r * cols;
      for (let q = r; q < b; q++) {
        const trq = T[r * b + q]!;
        if (trq === 0) continue;
        const row = q * cols;
        for (let c = 0; c < cols; c++) tw[out + c]! += trq * w[row + c]!;
      }
    }
    // X −= V (T W); V = (Vᵀ)ᵀ is m×b
    const v = new Float64Array(m * b);
    for (let c = 0; c < b; c++) for (let i = 0; i < m; i++) v[i * b + c] = vt[c * m + i]!;
    const update = new Float64Array(m * cols);
    await multiply(v, tw, m, b, cols, update);
    for (let i = 0; i < m * cols; i++) sub[i]! -= update[i]!;
  }
}

/**
 * X ← Q X for X n×cols row-major (the eigenvectors of T become those of A), reflector by
 * reflector in reverse order (k = from down to to): X[k+1…] −= τ v (vᵀ X[k+1…]). 4n²·cols flops.
 */
export function applyQ(t: Tridiagonal, x: Float64Array, cols: number, from = t.n - 3, to = 0): void {
  const { n, vectors, tau } = t;
  const s = new Float64Array(cols);
  for (let k = from; k >= to; k--) {
    const tk = tau[k]!;
    if (tk === 0) continue;
    // s = vᵀ X[k+1…], v[0] = 1
    s.set(x.subarray((k + 1) * cols, (k + 2) * cols));
    for (let i = k + 2; i < n; i++) {
      const vi = vectors[k * n + i]!;
      if (vi === 0) continue;
      const row = i * cols;
      for (let c = 0; c < cols; c++) s[c]! += vi * x[row + c]!;
    }
    for (let c = 0; c < cols; c++) s[c]! *= tk;
    let row = (k + 1) * cols;
    for (let c = 0; c < cols; c++) x[row + c]! -= s[c]!;
    for (let i = k + 2; i < n; i++) {
      const vi = vectors[k * n + i]!;
      if (vi === 0) continue;
      row = i * cols;
      for (let c = 0; c < cols; c++) x[row + c]! -= vi * s[c]!;
    }
  }
}
