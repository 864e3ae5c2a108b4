/**
 * CKA as the paper writes it, in plain float64 loops — start reading here. The functions follow
 * the demo notebook published with Kornblith, Norouzi, Lee & Hinton, "Similarity of Neural Network
 * Representations Revisited" (ICML 2019): `gram_linear`, `gram_rbf`, `center_gram`, `cka`,
 * `feature_space_linear_cka`, one for one.
 *
 * The engine computes the same numbers another way (packed Grams in onnxruntime, all pairs from one
 * stacked product, centrings applied as O(n) corrections: packed.ts, centring.ts,
 * centred-traces.ts, cka-matrix.ts). This file is not on that path: it is the definition, and the
 * tests hold the engine to it. Everything here is O(n²) or O(n²p) memory and time, for small n.
 *
 * Notation: X is n × p (n examples, p features), K = k(X, X) and L = l(Y, Y) are n × n kernel
 * (Gram) matrices of two layers on the same n examples, H = I − 11ᵀ/n is the centring matrix.
 */

/** A dense row-major matrix: element (i, j) is `data[i * cols + j]`. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data: Float64Array = new Float64Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new Error(`${data.length} values do not make ${rows} × ${cols}`);
  return { rows, cols, data };
}

/** ⟨A, B⟩_F = Σᵢⱼ A_ij B_ij = tr(AᵀB). */
function frobeniusInner(a: Matrix, b: Matrix): number {
  let sum = 0;
  for (let k = 0; k < a.data.length; k++) sum += a.data[k]! * b.data[k]!;
  return sum;
}

/** AᵀB for A [n, p], B [n, q]. */
function transposeTimes(a: Matrix, b: Matrix): Matrix {
  const out = matrix(a.cols, b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let r = 0; r < a.cols; r++) {
      const air = a.data[i * a.cols + r]!;
      for (let c = 0; c < b.cols; c++) out.data[r * b.cols + c]! += air * b.data[i * b.cols + c]!;
    }
  }
  return out;
}

/** X with each column's mean subtracted (the column-centred activations XH in the paper's terms). */
function centreColumns(x: Matrix): Matrix {
  const out = matrix(x.rows, x.cols, x.data.slice());
  for (let f = 0; f < x.cols; f++) {
    let mean = 0;
    for (let i = 0; i < x.rows; i++) mean += x.data[i * x.cols + f]!;
    mean /= x.rows;
    for (let i = 0; i < x.rows; i++) out.data[i * x.cols + f]! -= mean;
  }
  return out;
}

/** The linear kernel: K = XXᵀ, K_ij = ⟨x_i, x_j⟩. */
export function gramLinear(x: Matrix): Matrix {
  const n = x.rows;
  const p = x.cols;
  const gram = matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let f = 0; f < p; f++) dot += x.data[i * p + f]! * x.data[j * p + f]!;
      gram.data[i * n + j] = dot;
    }
  }
  return gram;
}

/**
 * The RBF kernel (Kornblith et al. 2019, §4): K_ij = exp(−‖x_i − x_j‖² / (2 t² m)), where the
 * bandwidth is a fraction t (`threshold`) of the median distance: m is the median of all n²
 * squared distances, diagonal zeros included (numpy's `np.median` over the full matrix, as the
 * demo does; for an even count the mean of the two middle values). Squared distances come from
 * the Gram: ‖x_i − x_j‖² = K_ii + K_jj − 2 K_ij.
 */
export function gramRbf(x: Matrix, threshold = 1): Matrix {
  const dot = gramLinear(x);
  const n = dot.rows;
  const squaredDistances = matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      squaredDistances.data[i * n + j] = -2 * dot.data[i * n + j]! + dot.data[i * n + i]! + dot.data[j * n + j]!;
    }
  }
  const sorted = squaredDistances.data.slice().sort();
  const half = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
  const gram = matrix(n, n);
  for (let k = 0; k < n * n; k++) {
    gram.data[k] = Math.exp(-squaredDistances.data[k]! / (2 * threshold * threshold * median));
  }
  return gram;
}

/**
 * Centres a symmetric kernel matrix (a new matrix; the input is untouched).
 *
 * - biased (`unbiased` false): HKH, the double centring of the HSIC estimator
 *   HSIC(K, L) = tr(KHLH) / (n − 1)² (Gretton et al. 2005; Kornblith et al. 2019, §3). With column
 *   means m_j and grand mean m̄: (HKH)_ij = K_ij − m_i − m_j + m̄, written as in the demo by
 *   subtracting means − m̄/2 from every row and every column.
 * - unbiased: U-centring (Székely & Rizzo 2014), which turns the Frobenius inner product into the
 *   unbiased estimator HSIC₁ of Song et al. 2012 (see `hsic`). With K̃ = K with a zero diagonal and
 *   column sums r_j of K̃: Ũ_ij = K̃_ij − r_i/(n−2) − r_j/(n−2) + Σr/((n−1)(n−2)) for i ≠ j, and
 *   Ũ_ii = 0. Needs n ≥ 4 (HSIC₁ divides by n(n−3)).
 */
export function centreGram(gram: Matrix, unbiased = false): Matrix {
  const n = gram.rows;
  if (gram.cols !== n) throw new Error(`a Gram matrix is square, got ${gram.rows} × ${gram.cols}`);
  if (unbiased && n < 4) throw new Error(`the unbiased estimator needs n ≥ 4, got n = ${n}`);
  const out = matrix(n, n, gram.data.slice());
  const means = new Float64Array(n);
  if (unbiased) {
    for (let i = 0; i < n; i++) out.data[i * n + i] = 0;
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) means[j]! += out.data[i * n + j]!;
      means[j]! /= n - 2;
    }
    let total = 0;
    for (let j = 0; j < n; j++) total += means[j]!;
    for (let j = 0; j < n; j++) means[j]! -= total / (2 * (n - 1));
  } else {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) means[j]! += out.data[i * n + j]!;
      means[j]! /= n;
    }
    let grandMean = 0;
    for (let j = 0; j < n; j++) grandMean += means[j]!;
    grandMean /= n;
    for (let j = 0; j < n; j++) means[j]! -= grandMean / 2;
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) out.data[i * n + j]! -= means[i]! + means[j]!;
  }
  if (unbiased) for (let i = 0; i < n; i++) out.data[i * n + i] = 0;
  return out;
}

/**
 * The HSIC estimate of two kernels on the same n examples:
 *
 * - biased:   HSIC₀(K, L) = tr(KHLH) / (n − 1)² = ⟨HKH, HLH⟩_F / (n − 1)²   (Gretton et al. 2005)
 * - debiased: HSIC₁(K, L) = [tr(K̃L̃) + 1ᵀK̃1 · 1ᵀL̃1 / ((n−1)(n−2)) − 2/(n−2) · 1ᵀK̃L̃1] / (n(n−3)),
 *   K̃ and L̃ with zero diagonals (Song et al. 2012, the unbiased estimator), which equals
 *   ⟨Ũ_K, Ũ_L⟩_F / (n(n−3)) with the U-centred kernels of `centreGram`.
 *
 * HSIC₁ is unbiased and may be negative.
 */
export function hsic(gramX: Matrix, gramY: Matrix, debiased = false): number {
  const n = gramX.rows;
  const inner = frobeniusInner(centreGram(gramX, debiased), centreGram(gramY, debiased));
  return debiased ? inner / (n * (n - 3)) : inner / ((n - 1) * (n - 1));
}

/**
 * Centred kernel alignment (Kornblith et al. 2019, §3): HSIC normalised to be invariant to
 * isotropic scaling,
 *
 *   CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) · HSIC(L, L)),
 *
 * computed as the demo does, as the cosine ⟨K̃, L̃⟩_F / (‖K̃‖_F ‖L̃‖_F) of the centred kernels:
 * the estimator's factor (1/(n−1)² or 1/(n(n−3))) cancels. `debiased` uses HSIC₁ throughout.
 */
export function cka(gramX: Matrix, gramY: Matrix, debiased = false): number {
  const kx = centreGram(gramX, debiased);
  const ky = centreGram(gramY, debiased);
  const scaledHsic = frobeniusInner(kx, ky);
  return scaledHsic / (Math.sqrt(frobeniusInner(kx, kx)) * Math.sqrt(frobeniusInner(ky, ky)));
}

/**
 * Linear CKA without Grams (Kornblith et al. 2019, §3): for column-centred X and Y,
 * ⟨vec(XXᵀ), vec(YYᵀ)⟩ = tr(XXᵀYYᵀ) = ‖YᵀX‖²_F, so
 *
 *   CKA_linear(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F),
 *
 * which costs O(n·p·q) instead of O(n²(p + q)) and equals cka(gramLinear(X), gramLinear(Y)).
 */
export function featureSpaceLinearCka(x: Matrix, y: Matrix): number {
  if (x.rows !== y.rows) throw new Error(`X has ${x.rows} examples and Y ${y.rows}`);
  const xc = centreColumns(x);
  const yc = centreColumns(y);
  const cross = transposeTimes(xc, yc);
  const selfX = transposeTimes(xc, xc);
  const selfY = transposeTimes(yc, yc);
  const dotProductSimilarity = frobeniusInner(cross, cross);
  return dotProductSimilarity / (Math.sqrt(frobeniusInner(selfX, selfX)) * Math.sqrt(frobeniusInner(selfY, selfY)));
}
