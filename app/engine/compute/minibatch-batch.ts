/**
 * Worker side of minibatch CKA: one batch of b examples for every layer. Each layer's b×b Gram is
 * computed (centred, packed — gram.ts), or arrives computed (the model runner's, from the same
 * code: runner/batch-grams.ts), and all layers' ⟨Ũ_a, Ũ_b⟩ come from one stacked product
 * (hsic-stack.ts) U-centred in O(b) per pair (cka/centred-traces.ts). Memory is O(layers · b²)
 * whatever n is.
 */
import { centredTraces, kernelSummary, type KernelSummary } from '../cka/centred-traces.js';
import { packedLength, type PackedArray } from '../cka/packed.js';
import type { NonFiniteValue } from '../cka/types.js';
import { loadActivations, type ActivationInput, type RowSelection } from './activations-in.js';
import { centredGramInto } from './gram.js';
import { stackedPackedProducts } from './hsic-stack.js';
import { arrayTypeOf, dtypeOf, type ComputeDType } from './onnx-graph.js';
import type { Workspace } from './workspace.js';

/** A batch's Gram computed elsewhere (packed, as the runner keeps it), with its flags. */
export interface BatchGram {
  kind: 'gram';
  packed: PackedArray;
  n: number;
  constant: boolean;
  nonFinite: NonFiniteValue | null;
}

export type BatchInput = ActivationInput | BatchGram;

export interface BatchProducts {
  /** k×k row-major: tr(Ũ_a Ũ_b) for this batch (HSIC₁ · b(b−3)). */
  products: Float64Array;
  /** Per layer: the first non-finite activation in this batch, if any (its products are then 0). */
  nonFinite: (NonFiniteValue | null)[];
  /** Per layer: constant across this batch's examples. */
  constant: boolean[];
}

export async function batchProducts(
  layers: readonly BatchInput[],
  selection: RowSelection,
  precision: ComputeDType | 'auto',
  workspace: Workspace,
  intraOpThreads: number,
): Promise<BatchProducts> {
  const grams: PackedArray[] = [];
  const summaries: KernelSummary[] = [];
  const nonFinite: (NonFiniteValue | null)[] = [];
  const constant: boolean[] = [];
  let b = 0;
  for (let l = 0; l < layers.length; l++) {
    const input = layers[l]!;
    if (input.kind === 'gram') {
      b = input.n;
      nonFinite.push(input.nonFinite);
      constant.push(input.constant);
      grams.push(input.packed);
      summaries.push(kernelSummary(input.packed, input.n));
      continue;
    }
    const { x, n, features } = await loadActivations(input, workspace, selection);
    b = n;
    const dtype: ComputeDType = precision === 'auto' ? dtypeOf(x) : precision;
    const gram = new (arrayTypeOf(dtype))(packedLength(n)); // float32 for a float32 product (cka/packed.ts)
    const flags = await centredGramInto(x, n, features, dtype, gram, workspace, intraOpThreads, { overwrite: true });
    nonFinite.push(flags.nonFinite); // example index within the batch; the caller maps it back
    constant.push(flags.constant);
    if (flags.nonFinite) gram.fill(0);
    grams.push(gram);
    summaries.push(kernelSummary(gram, n));
  }
  const products = await stackedPackedProducts(grams, 0, packedLength(b), workspace, intraOpThreads);
  return { products: centredTraces(products, summaries, 'unbiased'), nonFinite, constant };
}
