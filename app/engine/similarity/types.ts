/**
 * The CKA engine's own types: what goes in (layer sources), how a run is driven (progress,
 * cancellation, precision, threads, memory). The measures and results are cka/types.ts.
 */
import type { LayerRef } from '../cka/types.js';

/** Activations of one layer: n examples (rows) × features, row-major. */
export type ActivationArray = Float32Array | Float64Array;

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

/** `factors`: each layer's SVD for the CCA-family measures; `baselines`: their pairs. */
export type CkaStage = 'load' | 'grams' | 'kernels' | 'hsic' | 'bootstrap' | 'minibatch' | 'factors' | 'baselines';

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
