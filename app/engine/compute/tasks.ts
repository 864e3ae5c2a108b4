/**
 * The messages between the CKA engine and its worker threads. Arrays in tasks are either shared
 * memory (Grams, kernels, weights: every thread sees the same bytes) or small copies.
 */
import type { LayerMoments, PairMoments } from '../cka/bootstrap.js';
import type { CentredKernelView } from '../cka/centring.js';
import type { KernelSummary } from '../cka/centred-traces.js';
import type { LayerFactors } from '../cka/layer-factors.js';
import type { BaselineMeasure, LayerRef } from '../cka/types.js';
import type { ActivationInput, RowSelection } from './activations-in.js';
import type { BaselinePairResult } from './baseline-pairs.js';
import type { FeatureProducts } from './feature-products.js';
import type { PackedArray } from '../cka/packed.js';
import type { GramFlags } from './gram.js';
import type { BatchInput, BatchProducts } from './minibatch-batch.js';
import type { ComputeDType } from './onnx-graph.js';

export type ComputeTask =
  | {
      kind: 'gram';
      input: ActivationInput;
      /** 'auto': the input's own precision. */
      precision: ComputeDType | 'auto';
      /** Shared n(n+1)/2 output: float32 only for a float32 product (gram.ts). */
      packedOut: PackedArray;
      intraOpThreads: number;
    }
  /** Diagonal and row sums of a packed kernel. */
  | { kind: 'summary'; packed: PackedArray; n: number }
  /** RBF kernels of a Gram, one per threshold, written (biased-centred) into the shared outputs. */
  | { kind: 'rbf'; gram: PackedArray; n: number; thresholds: number[]; kernelsOut: Float64Array[] }
  /** Σ over packed columns [start, end) of A·B for every pair of the packed kernels. */
  | { kind: 'stack'; packed: PackedArray[]; start: number; end: number; intraOpThreads: number }
  | {
      kind: 'bootstrapLayer';
      view: CentredKernelView;
      weights: Float32Array | Float64Array;
      samples: number;
      dtype: ComputeDType;
      kwOut: Float32Array | Float64Array;
      intraOpThreads: number;
    }
  | {
      kind: 'bootstrapPairs';
      rowView: CentredKernelView;
      rowKW: Float32Array | Float64Array;
      cols: { view: CentredKernelView; kw: Float32Array | Float64Array }[];
      weights: Float32Array | Float64Array;
      samples: number;
      dtype: ComputeDType;
      intraOpThreads: number;
    }
  | {
      kind: 'batch';
      layers: BatchInput[];
      selection: RowSelection;
      precision: ComputeDType | 'auto';
      intraOpThreads: number;
    }
  | { kind: 'features'; layers: ActivationInput[]; precision: ComputeDType; intraOpThreads: number }
  /** A layer's factors for the CCA-family measures (layer-factors.ts). */
  | { kind: 'factors'; input: ActivationInput; layer: LayerRef; intraOpThreads: number }
  /** The CCA-family measures of one pair of layers, X = a (and X = b when `backward`). */
  | {
      kind: 'baselinePair';
      a: LayerFactors;
      b: LayerFactors;
      measures: BaselineMeasure[];
      backward: boolean;
      intraOpThreads: number;
    };

export interface GramTaskResult extends GramFlags {
  n: number;
  features: number;
  dtype: ComputeDType;
}

export interface TaskResults {
  gram: GramTaskResult;
  summary: KernelSummary;
  rbf: { medianSquaredDistance: number };
  stack: Float64Array;
  bootstrapLayer: LayerMoments;
  bootstrapPairs: PairMoments[];
  batch: BatchProducts;
  features: FeatureProducts;
  factors: LayerFactors;
  baselinePair: BaselinePairResult;
}

export type TaskOf<K extends ComputeTask['kind']> = Extract<ComputeTask, { kind: K }>;
