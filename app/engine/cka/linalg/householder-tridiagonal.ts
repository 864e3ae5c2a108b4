/**
 * Householder reduction of a symmetric matrix to tridiagonal form, A = Q T Qᵀ (Golub & Van Loan,
 * §8.3.1; LAPACK dsytd2 with the lower triangle), and applying Q to vectors afterwards.
 *
 * Storage: A is n×n row-major and only its lower triangle (j ≤ i) is read and written, so every
 * inner loop runs along a row. Step k reflects rows/columns k+1…n−1 with H_k = I − τ_k v_k v_kᵀ
 * (v_k[0] = 1) so that column k becomes (d_k, e_k, 0, …); the trailing block gets
 * A₂₂ ← H A₂₂ H = A₂₂ − v wᵀ − w vᵀ with p = τ A₂₂ v and w = p − (τ/2)(pᵀv) v. Q = H_0 H_1 ⋯ H_{n−3}.
 *
 * compute/tridiagonal-ort.ts is the blocked form (LAPACK dlatrd) with its products in onnxruntime.
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
 * p = A v for the symmetric m×m block of `a` (row-major, row length n) starting at (start, start),
 * reading only its lower triangle: each entry serves row i (a dot product) and column i (an axpy).
 * Two rows per pass, so x and p are read once for both — this product is the reduction's cost.
 */
export function lowerSymv(
  a: Float64Array,
  n: number,
  start: number,
  m: number,
  x: Float64Array,
  p: Float64Array,
): void {
  p.fill(0, 0, m);
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const r0 = (start + i) * n + start;
    const r1 = r0 + n;
    const v0 = x[i]!;
    const v1 = x[i + 1]!;
    let s0 = 0;
    let s1 = 0;
    for (let c = 0; c < i; c++) {
      const a0 = a[r0 + c]!;
      const a1 = a[r1 + c]!;
      const xc = x[c]!;
      s0 += a0 * xc;
      s1 += a1 * xc;
      p[c]! += a0 * v0 + a1 * v1;
    }
    const a10 = a[r1 + i]!;
    p[i]! += s0 + a[r0 + i]! * v0 + a10 * v1;
    p[i + 1]! += s1 + a10 * v0 + a[r1 + i + 1]! * v1;
  }
  if (i < m) {
    const row = (start + i) * n + start;
    const vi = x[i]!;
    let s = 0;
    for (let c = 0; c < i; c++) {
      const aic = a[row + c]!;
      s += aic * x[c]!;
      p[c]! += aic * vi;
    }
    p[i]! += s + a[row + i]! * vi;
  }
}

/** Reduces the lower triangle of `a` (n×n, row-major, destroyed) to tridiagonal form, in plain loops. */
export function tridiagonalise(a: Float64Array, n: number): Tridiagonal {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const tau = new Float64Array(Math.max(0, n - 1));
  const vectors = new Float64Array(n * n);
  const x = new Float64Array(n);
  const p = new Float64Array(n);
  for (let j = 0; j < n - 2; j++) {
    const m = n - j - 1;
    d[j] = a[j * n + j]!;
    for (let i = 0; i < m; i++) x[i] = a[(j + 1 + i) * n + j]!;
    const { tau: t, beta } = householder(x, 0, m);
    e[j] = beta;
    tau[j] = t;
    x[0] = 1;
    for (let i = 1; i < m; i++) vectors[j * n + j + 1 + i] = x[i]!;
    if (t === 0) continue;
    // p = τ A₂₂ v (lower triangle of rows/columns j+1…n−1), then w = p − (τ/2)(pᵀv) v
    lowerSymv(a, n, j + 1, m, x, p);
    let pv = 0;
    for (let i = 0; i < m; i++) {
      p[i]! *= t;
      pv += p[i]! * x[i]!;
    }
    const half = 0.5 * t * pv;
    for (let i = 0; i < m; i++) p[i]! -= half * x[i]!;
    // A₂₂ ← A₂₂ − v wᵀ − w vᵀ (lower triangle)
    for (let i = 0; i < m; i++) {
      const row = (j + 1 + i) * n + j + 1;
      const vi = x[i]!;
      const wi = p[i]!;
      for (let c = 0; c <= i; c++) a[row + c]! -= vi * p[c]! + wi * x[c]!;
    }
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
