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
  | { name: 'minibatch'; batchSize: number; shuffleSeed?: number };

export type MinibatchMeasure = Extract<Measure, { name: 'minibatch' }>;

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
  /** How HSIC was computed: from Grams or (linear CKA, few features) from feature cross-products. */
  form: 'gram' | 'features' | 'minibatch';
  timings: CkaTimings;
}
