/**
 * Public types of the CKA core: what goes in (layer sources, measures, options) and what comes
 * out (similarity matrices with their undefined cells, intervals and timings).
 */

import type { LayerRef, MeasureInfo, UndefinedCell } from '../../common/contract.js';

/** A layer as the rest of the app names it (`tensor` is the id, `name` is for people); a measure's
 * name and numeric parameters; a matrix cell without a number and why — the contract's types. */
export type { LayerRef, MeasureInfo, UndefinedCell };

/** Activations of one layer: n examples (rows) × features, row-major. */
export type ActivationArray = Float32Array | Float64Array;

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
 * Where a layer's activations come from. `array` data backed by a SharedArrayBuffer is read by the
 * workers in place; other arrays are copied once into shared memory.
 */
export type LayerSource =
  | { kind: 'array'; layer: LayerRef; data: ActivationArray; n: number; features: number }
  /** A `.npy` file [n, features] (or [n, ...] — flattened per example), float32 or float64. */
  | { kind: 'npy'; layer: LayerRef; path: string }
  /** Row batches in example order (each [rows, features]); consumed once. */
  | { kind: 'stream'; layer: LayerRef; features: number; batches: AsyncIterable<ActivationArray> };

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

export type CkaStage = 'load' | 'grams' | 'kernels' | 'hsic' | 'bootstrap' | 'minibatch';

export interface CkaProgress {
  stage: CkaStage;
  done: number;
  total: number;
  /** The layer the last finished unit belonged to, if any. */
  layer?: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: CkaProgress) => void;
}

/** Precision of the Gram stage; HSIC sums and centring always accumulate in float64. */
export type GramPrecision = 'auto' | 'float32' | 'float64';

export interface CkaEngineOptions {
  /** Threads for the whole engine (workers × intra-op threads ≤ threads). Default: the machine's cores. */
  threads?: number;
  /** Bytes exact mode may hold (Grams, kernels, bootstrap matrices). Default: half the free memory, at most 16 GiB. */
  memoryBudgetBytes?: number;
  /**
   * `auto` computes Grams in float32 for float32 activations and float64 for float64 ones;
   * float32 Grams are the fast path (error ~1e-7 relative per entry), float64 the exact one.
   */
  precision?: GramPrecision;
}
