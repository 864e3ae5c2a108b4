/**
 * Bootstrap percentile intervals for CKA, from the stored kernels — no model is re-run and no
 * resampled kernel is gathered.
 *
 * A resample of the n examples is a vector of multiplicities w (Σw = n). The resampled kernel
 * K' = K[idx][:, idx] never needs forming: every term of HSIC on K', L' is a weighted sum over
 * the original kernels (derivation: expand the centrings and group repeated indices):
 *
 *   biased (HK'H):   tr(K'HL'H) = wᵀ(K∘L)w − (2/n) Σᵢ wᵢ(Kw)ᵢ(Lw)ᵢ + (wᵀKw)(wᵀLw)/n²
 *   unbiased (HSIC₁ of Song et al. 2012, with K̃' = K' with a zero diagonal; a duplicated example
 *   puts K_ii off the diagonal of K', which these terms keep):
 *     tr(K̃'L̃')    = wᵀ(K∘L)w − Σᵢ wᵢ K_ii L_ii
 *     1ᵀK̃'1       = wᵀKw − Σᵢ wᵢ K_ii
 *     1ᵀK̃'L̃'1     = Σᵢ wᵢ ((Kw)ᵢ − K_ii)((Lw)ᵢ − L_ii)
 *     n(n−3)·HSIC₁ = tr(K̃'L̃') + 1ᵀK̃'1 · 1ᵀL̃'1 / ((n−1)(n−2)) − 2/(n−2) · 1ᵀK̃'L̃'1
 *
 * Why weights rather than gathering K[idx][:, idx] per resample: gathering costs O(n²) scattered
 * reads per layer and resample in JS; the weighted form is a handful of dense products per pair
 * (wᵀ(K∘L)w for all resamples is one (K∘L)·W GEMM), which run in onnxruntime at BLAS speed.
 * Both centrings are unchanged by adding a·1ᵀ + 1·aᵀ to K, so the weights are applied to the
 * full-sample centred kernel (better conditioned than the raw one). The RBF bandwidth stays the
 * full sample's (the kernel is fixed; examples are resampled).
 *
 * Resampled CKA is not centred on the estimate (duplicated examples look like perfectly similar
 * pairs); `intervalsFromSamples` reports the plain percentile interval and the one recentred on
 * the estimate by the bootstrap bias estimate.
 */
import { bootstrapCounts } from './rng.js';
import type { BootstrapOptions, ConfidenceIntervals } from './types.js';

/** Per layer and resample t: quad_t = w_tᵀ K w_t and diag_t = Σᵢ w_ti K_ii. */
export interface LayerMoments {
  quad: Float64Array;
  diag: Float64Array;
}

/** Per pair and resample t: the terms of the resampled HSIC that need both kernels. */
export interface PairMoments {
  /** w_tᵀ (K∘L) w_t */
  hadamard: Float64Array;
  /** Σᵢ w_ti (Kw_t)ᵢ (Lw_t)ᵢ */
  cross: Float64Array;
  /** Σᵢ w_ti K_ii L_ii */
  diagProduct: Float64Array;
  /** Σᵢ wᵢ K_ii (Lw)ᵢ */
  diagKTimesLw: Float64Array;
  /** Σᵢ wᵢ L_ii (Kw)ᵢ */
  diagLTimesKw: Float64Array;
}

/** The moments of every layer and of every pair a matrix needs, for one kernel. */
export interface BootstrapMoments {
  layers: readonly (LayerMoments | null)[];
  pair: (a: number, b: number) => PairMoments | null;
}

export interface CellIndex {
  rowIndex: readonly number[];
  colIndex: readonly number[];
}

/** numpy's default ('linear') percentile of ascending `sorted`, q in [0, 1]. */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * Intervals per cell from per-resample CKA values (NaN = undefined resample, skipped): the plain
 * percentile interval [q(α/2), q(1−α/2)] and the same recentred on the estimate,
 * [q(α/2) − b, q(1−α/2) − b] with b = mean(CKA*) − CKA, the bootstrap bias estimate (Efron &
 * Tibshirani 1993, §10). Resamples from the sample estimate the sample's own (plug-in) CKA:
 * biased CKA picks up an extra O(1/n) from duplicated examples and debiased CKA's resamples
 * centre on the biased value, so only the recentred interval is centred where the estimate is.
 */
export function intervalsFromSamples(
  samplesPerCell: Float64Array[][],
  pointMatrix: readonly (readonly (number | null)[])[],
  options: Required<BootstrapOptions>,
  resampled: ConfidenceIntervals['resampled'],
): ConfidenceIntervals {
  const alpha = (1 - options.level) / 2;
  const lo: (number | null)[][] = [];
  const hi: (number | null)[][] = [];
  const plainLo: (number | null)[][] = [];
  const plainHi: (number | null)[][] = [];
  const bias: (number | null)[][] = [];
  const skipped: number[][] = [];
  let anySkipped = false;
  samplesPerCell.forEach((row, r) => {
    for (const list of [lo, hi, plainLo, plainHi, bias, skipped]) list.push([]);
    row.forEach((values, c) => {
      const valid = Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
      skipped[r]!.push(values.length - valid.length);
      anySkipped ||= valid.length < values.length;
      const estimate = pointMatrix[r]![c];
      if (estimate === null || estimate === undefined || valid.length === 0) {
        for (const list of [lo, hi, plainLo, plainHi, bias]) list[r]!.push(null);
        return;
      }
      let mean = 0;
      for (const v of valid) mean += v;
      mean /= valid.length;
      const b = mean - estimate;
      const qLo = percentileOfSorted(valid, alpha);
      const qHi = percentileOfSorted(valid, 1 - alpha);
      plainLo[r]!.push(qLo);
      plainHi[r]!.push(qHi);
      bias[r]!.push(b);
      lo[r]!.push(qLo - b);
      hi[r]!.push(qHi - b);
    });
  });
  return {
    method: 'bias-corrected percentile bootstrap',
    samples: options.samples,
    seed: options.seed,
    level: options.level,
    resampled,
    lo,
    hi,
    percentile: { lo: plainLo, hi: plainHi },
    bias,
    ...(anySkipped ? { skipped } : {}),
  };
}

export function withDefaults(options: BootstrapOptions): Required<BootstrapOptions> {
  const level = options.level ?? 0.95;
  return { samples: options.samples, seed: options.seed, level };
}

/** Resampled tr(K'HL'H) (biased) or n(n−3)·HSIC₁ (unbiased) for resample t. */
export function resampledTrace(
  mode: 'biased' | 'unbiased',
  n: number,
  k: LayerMoments,
  l: LayerMoments,
  p: PairMoments,
  t: number,
): number {
  if (mode === 'biased') {
    return p.hadamard[t]! - (2 / n) * p.cross[t]! + (k.quad[t]! * l.quad[t]!) / (n * n);
  }
  const traceOffDiagonal = p.hadamard[t]! - p.diagProduct[t]!;
  const sumK = k.quad[t]! - k.diag[t]!;
  const sumL = l.quad[t]! - l.diag[t]!;
  const rowSumsProduct = p.cross[t]! - p.diagKTimesLw[t]! - p.diagLTimesKw[t]! + p.diagProduct[t]!;
  return traceOffDiagonal + (sumK * sumL) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * rowSumsProduct;
}

/** Per-cell CKA values of every resample, for one centring. */
export function resampledCka(
  mode: 'biased' | 'unbiased',
  n: number,
  moments: BootstrapMoments,
  cells: CellIndex,
  samples: number,
): Float64Array[][] {
  const selfCache = new Map<number, Float64Array>();
  const self = (u: number): Float64Array | null => {
    const m = moments.layers[u];
    const p = moments.pair(u, u);
    if (!m || !p) return null;
    let values = selfCache.get(u);
    if (!values) {
      values = new Float64Array(samples);
      for (let t = 0; t < samples; t++) values[t] = resampledTrace(mode, n, m, m, p, t);
      selfCache.set(u, values);
    }
    return values;
  };
  return cells.rowIndex.map((a) =>
    cells.colIndex.map((b) => {
      const out = new Float64Array(samples).fill(NaN);
      const ka = moments.layers[a];
      const lb = moments.layers[b];
      const p = moments.pair(a, b);
      const sa = self(a);
      const sb = self(b);
      if (!ka || !lb || !p || !sa || !sb) return out;
      for (let t = 0; t < samples; t++) {
        const denominator = sa[t]! * sb[t]!;
        out[t] = sa[t]! > 0 && sb[t]! > 0 ? resampledTrace(mode, n, ka, lb, p, t) / Math.sqrt(denominator) : NaN;
      }
      return out;
    }),
  );
}

/**
 * Minibatch CKA's interval: resample whole batches with replacement and re-add the stored
 * per-batch HSIC₁ traces (batches are the estimator's independent units).
 */
export function batchResampledCka(
  perBatch: readonly Float64Array[],
  k: number,
  cells: CellIndex,
  options: Required<BootstrapOptions>,
): Float64Array[][] {
  const batches = perBatch.length;
  const samples = options.samples;
  const counts = bootstrapCounts(batches, samples, options.seed);
  const sums = Array.from({ length: samples }, () => new Float64Array(k * k));
  for (let t = 0; t < batches; t++) {
    const products = perBatch[t]!;
    for (let s = 0; s < samples; s++) {
      const c = counts[t * samples + s]!;
      if (c === 0) continue;
      const sum = sums[s]!;
      for (let e = 0; e < k * k; e++) sum[e]! += c * products[e]!;
    }
  }
  return cells.rowIndex.map((a) =>
    cells.colIndex.map((b) => {
      const out = new Float64Array(samples);
      for (let s = 0; s < samples; s++) {
        const sum = sums[s]!;
        const saa = sum[a * k + a]!;
        const sbb = sum[b * k + b]!;
        out[s] = saa > 0 && sbb > 0 ? sum[a * k + b]! / Math.sqrt(saa * sbb) : NaN;
      }
      return out;
    }),
  );
}
