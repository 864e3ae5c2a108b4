/**
 * The measures and results of CKA: which similarity (a parsed measure) and what comes out
 * (similarity matrices with their undefined cells, intervals and timings). What goes in and how
 * a run is driven (sources, progress, options) is the engine's: ../similarity/types.ts.
 */

import type { LayerRef, MeasureInfo, UndefinedCell } from '../../common/contract.js';

/** A layer as the rest of the app names it (`tensor` is the id, `name` is for people); a measure's
 * name and numeric parameters; a matrix cell without a number and why — the contract's types. */
export type { LayerRef, MeasureInfo, UndefinedCell };

/**
 * The first NaN/±Inf activation of a layer (example and feature indices). A Gram that overflowed
 * float32 without a non-finite input is reported as example = feature = −1, value = Infinity.
 */
export interface NonFiniteValue {
  example: number;
  feature: number;
  value: number;
}

/**
 * Which similarity to compute: a measure parsed from its text form (the contract's `MeasureSpec`,
 * e.g. `'rbf:0.5'`; measures.ts parses it).
 */
export type Measure =
  | { name: 'linear' }
  | { name: 'rbf'; threshold: number }
  /** Debiased CKA: HSIC₁ (U-centring); the kernel is linear unless an RBF threshold is given. */
  | { name: 'debiased'; rbfThreshold?: number }
  /** Minibatch CKA (Nguyen et al. 2021), linear kernel, HSIC₁ summed over batches of `batchSize`. */
  | { name: 'minibatch'; batchSize: number; shuffleSeed?: number }
  /** The paper's Table 2 baselines and Procrustes (cca-family.ts): from each layer's SVD, not a kernel. */
  | BaselineMeasure;

export type MinibatchMeasure = Extract<Measure, { name: 'minibatch' }>;

/**
 * The measures of Table 2 that are not CKA (Kornblith et al. 2019), and orthogonal Procrustes:
 * mean canonical correlation ρ̄ and R²_CCA, SVCCA keeping a fraction `keep` of each side's variance
 * (Raghu et al. 2017), projection-weighted CCA (Morcos et al. 2018), the R² of linear regression,
 * and the Procrustes similarity 1 − d²/2 (Ding et al. 2021). pwcca and linreg are asymmetric.
 */
export type BaselineMeasure =
  | { name: 'cca' }
  | { name: 'cca-r2' }
  | { name: 'svcca'; keep: number }
  | { name: 'svcca-r2'; keep: number }
  | { name: 'pwcca' }
  | { name: 'linreg' }
  | { name: 'procrustes' };

/** CKA from Gram matrices (not minibatch, not a baseline). */
export type GramMeasure = Extract<Measure, { name: 'linear' | 'rbf' | 'debiased' }>;

export interface BootstrapOptions {
  /** Number of resamples. */
  samples: number;
  seed: number;
  /** Central coverage of the percentile interval (default 0.95). */
  level?: number;
}

/**
 * Bootstrap intervals (bootstrap.ts). `lo`/`hi` are the percentile interval of the resampled CKA
 * values recentred on the estimate (shifted by the bootstrap bias estimate mean(CKA*) − CKA):
 * resampling with replacement duplicates examples, which lifts biased CKA by O(1/n) and makes
 * debiased CKA's resamples estimate the plug-in (biased) CKA instead, so the plain percentile
 * interval (kept in `percentile`) can miss the estimate entirely for small n.
 */
export interface ConfidenceIntervals {
  method: 'bias-corrected percentile bootstrap';
  samples: number;
  seed: number;
  level: number;
  /** For minibatch CKA whole batches are resampled; otherwise examples. */
  resampled: 'examples' | 'batches';
  lo: (number | null)[][];
  hi: (number | null)[][];
  /** The plain percentile interval of the resampled values. */
  percentile: { lo: (number | null)[][]; hi: (number | null)[][] };
  /** mean(CKA*) − CKA per cell: the shift between the two intervals. */
  bias: (number | null)[][];
  /** Resamples per cell whose CKA was undefined (e.g. a resample with one distinct example) and were left out. */
  skipped?: number[][];
}

export interface CkaTimings {
  /** Milliseconds per stage (`grams`, `kernels`, `hsic`, `bootstrap`, `minibatch`, `total`). */
  [stage: string]: number;
}

export interface CkaResult {
  measure: MeasureInfo;
  /** Examples used (for minibatch: batches × batch size). */
  n: number;
  rows: LayerRef[];
  cols: LayerRef[];
  /** rows × cols; null where undefined (see `undefined`). */
  matrix: (number | null)[][];
  undefined: UndefinedCell[];
  ci?: ConfidenceIntervals;
  /** Minibatch bookkeeping: batches used and examples left out of the last partial batch. */
  batches?: { count: number; size: number; droppedExamples: number; shuffleSeed?: number };
  /**
   * How the values were computed: CKA from Grams, from feature cross-products (linear CKA, few
   * features) or per minibatch; the baselines from each layer's SVD (`factors`).
   */
  form: 'gram' | 'features' | 'minibatch' | 'factors';
  /**
   * The same comparison the other way round (its rows are this result's columns), where it was
   * asked for and is not the transpose: the asymmetric baselines (pwcca, linreg) with X = the
   * column layer. `matrix[j][i]` = m(X = cols[j], Y = rows[i]).
   */
  mirror?: { matrix: (number | null)[][]; undefined: UndefinedCell[] };
  timings: CkaTimings;
}
