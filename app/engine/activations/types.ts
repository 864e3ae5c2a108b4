import type { OmittedLayer, Reduction } from '../../common/contract.js';
import type { NonFiniteCount } from '../cka/non-finite.js';
import type { GramBatch, RunLayerPlan } from '../runner/protocol.js';

/**
 * What extraction produces and how it is consumed. Activations stream to sinks batch by batch:
 * the streaming (minibatch) CKA accumulates as they arrive, the on-disk cache and `extract --out`
 * write `.npy` files row block by row block. By default each example's tensor is flattened to one
 * row in the tensor's own layout (a conv map [C, H, W] becomes C·H·W features, channel-major);
 * other reductions (layer-plan.ts) make one row of a mean or a token, or one row per token.
 */

export interface ExtractedLayer {
  /** ONNX tensor name: the layer's id. */
  tensor: string;
  /** Short name for people (`layer1.0.relu`). */
  name: string;
  op: string;
  /** Shape of one row (one example's tensor without the batch axis, unless a reduction changed it). */
  shape: number[];
  /** Values per row: the product of `shape`. */
  features: number;
  /** Element type onnxruntime produced; rows are always delivered as float32. */
  dtype: string;
  /** How the activations become rows. */
  reduction: Reduction;
  /** The layer's id in caches and results: the tensor, with the reduction unless it is `flatten`. */
  key: string;
  /** Rows over the whole probe: the examples, or the tokens for `tokens`. */
  rows: number;
  /** What the runner does to the layer's output (null: taken as it is, one row per example). */
  plan: RunLayerPlan | null;
  /** `tokens`: rows per example, from the probe's valid tokens or a fixed count. */
  rowsPerExample: number | 'valid';
  /** `tokens`: what the token rows are (two sides must agree to be compared token by token). */
  tokenization?: string;
  /** Values of one example's raw output (what the runner holds), for batch sizes. */
  rawValues: number;
}

/** The cache and result id of a layer under a reduction. */
export function layerKey(tensor: string, reduction: Reduction): string {
  return reduction === 'flatten' ? tensor : `${tensor}#${reduction}`;
}

export interface ExtractionInfo {
  model: { path: string; sha256: string };
  probe: { spec: string; hash: string; n: number };
  layers: ExtractedLayer[];
  /** Selected layers that are not extracted, and why. */
  omitted?: OmittedLayer[];
}

/** One batch of one layer. */
export interface LayerBatch {
  /** Index into `ExtractionInfo.layers`. */
  layer: number;
  tensor: string;
  /** Index of the first row of this batch in the layer's rows (the example's, or its first token's). */
  rowOffset: number;
  rows: number;
  features: number;
  /**
   * rows × features, row-major. A fresh array per batch that sinks may keep; every sink gets the
   * same array, so none may modify it.
   */
  data: Float32Array;
}

/**
 * A consumer of activations. `begin` is called once the layers' shapes are known (after the first
 * batch has run), then `write` for every layer of every batch in probe order — awaited, so a slow
 * sink holds the extraction back instead of letting batches pile up — then `finish` once all rows
 * were written. On failure or cancellation `abort` is called instead of `finish`: the sink must
 * leave nothing that could later be mistaken for a complete result.
 */
/** Where Gram mode's minibatch Grams go (batch-loop.ts), one run of one layer at a time, in probe order. */
export interface GramSink {
  /** The batches of layer `layer` that this run completed (maybe none), and the rows it took in. */
  writeGrams(layer: number, grams: GramBatch[], rows: number): Promise<void> | void;
}

export interface ActivationSink {
  begin?(info: ExtractionInfo): Promise<void> | void;
  write(batch: LayerBatch): Promise<void> | void;
  finish?(): Promise<void> | void;
  abort?(reason: unknown): Promise<void> | void;
}

/**
 * A sink whose files the model runner may write rows into itself (runner/row-files.ts), when it
 * is the extraction's only sink: the rows never reach the host, and `write` is not called for
 * the layers that have a file.
 */
export interface RowFileSink extends ActivationSink {
  /** After `begin`: the file (a temporary one) that layer `layer`'s .npy rows go to, or null. */
  rowFile(layer: number): { file: string; target: string } | null;
  /** The runner wrote `rows` more rows of layer `layer` into its file. */
  rowsWritten(layer: number, rows: number): void;
}

export function isRowFileSink(sink: ActivationSink): sink is RowFileSink {
  return typeof (sink as Partial<RowFileSink>).rowFile === 'function';
}

export type { NonFiniteCount };

export interface ExtractionProgress {
  batchesDone: number;
  batchesTotal: number;
  examplesDone: number;
  n: number;
  examplesPerSecond: number;
}

export interface ExtractionResult extends ExtractionInfo {
  /** Layers with NaN or ±Inf values (only with `nonFinite: 'report'`; otherwise that is an error). */
  nonFinite: Record<string, NonFiniteCount>;
  batchSize: number;
  batches: number;
  seconds: number;
  examplesPerSecond: number;
  /** Things a person should know: skipped files, layers left out of `all` because they do not split per example. */
  notes: string[];
  omitted: OmittedLayer[];
}
