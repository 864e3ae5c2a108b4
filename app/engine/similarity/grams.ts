/**
 * Per-layer centred Grams, computed once and kept: the unit of reuse of exact CKA. Every measure
 * and every pair a layer takes part in starts from its `LayerGram`; Grams can be spilled to and
 * loaded from a cache directory (gram-cache.ts).
 */
import { WorkbenchError } from '../../common/errors.js';
import { constantReason, nonFiniteReason } from '../cka/cka-matrix.js';
import { packedLength, type PackedArray } from '../cka/packed.js';
import type { LayerRef, NonFiniteValue } from '../cka/types.js';
import type { ComputeDType } from '../compute/onnx-graph.js';
import type { ComputePool } from '../compute/pool.js';
import { sharedArray, toShared } from '../compute/shared-memory.js';
import type { ResolvedSource } from './sources.js';
import type { GramPrecision, RunOptions } from './types.js';

export interface LayerGram {
  layer: LayerRef;
  /** Examples (rows of the activations). */
  n: number;
  /** Features per example. */
  features: number;
  /** Precision the Gram's product ran in. */
  precision: ComputeDType;
  /**
   * The linear Gram of the column-centred activations, XcXcᵀ ≈ HXXᵀH, packed upper triangle
   * (cka/packed.ts), in shared memory: n(n+1)/2 values, float32 when the product ran in float32
   * (exactly its values), else float64. Exact up to the rounding of the column means, whose
   * a·1ᵀ + 1·aᵀ residual every centring view removes exactly. All zeros when the layer is
   * unusable (see `constant`, `nonFinite`).
   */
  gram: PackedArray;
  constant: boolean;
  nonFinite: NonFiniteValue | null;
}

/** Why a layer's CKA is undefined whatever the kernel, or null. */
export function gramProblem(gram: LayerGram): string | null {
  if (gram.nonFinite) return nonFiniteReason(gram.layer, gram.nonFinite);
  if (gram.constant) return constantReason(gram.layer);
  return null;
}

export function resolvePrecision(precision: GramPrecision, dtype: ComputeDType): ComputeDType {
  return precision === 'auto' ? dtype : precision;
}

/** Splits `threads` between concurrent tasks: every task gets at least one intra-op thread. */
export function intraOpThreadsFor(tasks: number, threads: number): number {
  return Math.max(1, Math.floor(threads / Math.max(1, Math.min(tasks, threads))));
}

export async function computeLayerGrams(
  pool: ComputePool,
  sources: readonly ResolvedSource[],
  precision: GramPrecision,
  run: RunOptions,
): Promise<LayerGram[]> {
  const intraOpThreads = intraOpThreadsFor(sources.length, pool.threads);
  let done = 0;
  // Queued largest first: each worker's scratch buffers reach their final size on its first task
  // (fresh memory is what costs here), and the short tasks fill in at the end.
  const order = sources.map((_, i) => i).sort((a, b) => size(sources[b]!) - size(sources[a]!));
  const grams: Promise<LayerGram>[] = new Array(sources.length);
  for (const i of order) grams[i] = layerGram(sources[i]!);
  return Promise.all(grams);

  async function layerGram(source: ResolvedSource): Promise<LayerGram> {
    const dtype = resolvePrecision(precision, source.dtype);
    const gram = sharedArray(dtype, packedLength(source.n), `the Gram of layer '${source.layer.name}'`);
    const result = await pool.run<'gram'>(
      { kind: 'gram', input: source.input, precision: dtype, packedOut: gram, intraOpThreads },
      run.signal,
    );
    run.onProgress?.({ stage: 'grams', done: ++done, total: sources.length, layer: source.layer.name });
    if (result.nonFinite) gram.fill(0);
    return {
      layer: source.layer,
      n: source.n,
      features: source.features,
      precision: dtype,
      gram,
      constant: result.constant,
      nonFinite: result.nonFinite,
    } satisfies LayerGram;
  }
}

function size(source: ResolvedSource): number {
  return source.n * source.features;
}

/**
 * A Gram computed elsewhere (the model runner's, from the same code as the workers': runner/batch-grams.ts)
 * as a LayerGram, its values in shared memory for the workers: as they are when they already
 * are there (a large Gram read from the runner's spill file), else copied.
 */
export function layerGramOf(
  layer: LayerRef,
  features: number,
  precision: ComputeDType,
  computed: { packed: PackedArray; n: number; constant: boolean; nonFinite: NonFiniteValue | null },
): LayerGram {
  if (computed.packed.length !== packedLength(computed.n)) {
    throw new WorkbenchError('INTERNAL', `the Gram of layer '${layer.name}' is not ${computed.n} × ${computed.n}`);
  }
  const gram = toShared(computed.packed, `the Gram of layer '${layer.name}'`);
  return {
    layer,
    n: computed.n,
    features,
    precision,
    gram,
    constant: computed.constant,
    nonFinite: computed.nonFinite,
  };
}
