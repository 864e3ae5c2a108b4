/**
 * Linear CKA in feature space, for layers with few features (Kornblith et al. 2019, eq. for linear
 * HSIC): with column-centred X, Y,  tr(KcLc) = ‖YᵀX‖²_F.  All layers' centred activations are
 * concatenated into F [n, Σp] and one product C = FᵀF gives every pair's cross-covariance as a
 * block; HSIC(a, b) = Σ C_ab² (float64). Cheaper than Grams when Σp is small against n.
 */
import type { NonFiniteValue } from '../cka/types.js';
import { activationShape, loadActivations, type ActivationInput } from './activations-in.js';
import { gemmTransAGraph } from './graphs.js';
import { arrayTypeOf, type ComputeDType } from './onnx-graph.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

export interface FeatureProducts {
  /** k×k row-major: ‖X_aᵀ X_b‖²_F of the column-centred activations = tr(Kc_a Kc_b). */
  products: Float64Array;
  constant: boolean[];
  nonFinite: (NonFiniteValue | null)[];
  n: number;
}

export async function featureProducts(
  layers: readonly ActivationInput[],
  precision: ComputeDType,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<FeatureProducts> {
  const Ctor = arrayTypeOf(precision);
  const widths: number[] = [];
  let n = 0;
  for (const layer of layers) widths.push((await activationShape(layer)).features);
  const totalWidth = widths.reduce((a, b) => a + b, 0);
  const offsets = widths.map((_, l) => widths.slice(0, l).reduce((a, b) => a + b, 0));
  let concatenated: Float32Array | Float64Array | null = null;
  const constant: boolean[] = [];
  const nonFinite: (NonFiniteValue | null)[] = [];

  for (let l = 0; l < layers.length; l++) {
    const { x, n: rows, features: p } = await loadActivations(layers[l]!, workspace);
    n = rows;
    concatenated ??= workspace.get('concatenated', Ctor, n * totalWidth);
    const means = new Float64Array(p);
    const min = new Float64Array(p).fill(Infinity);
    const max = new Float64Array(p).fill(-Infinity);
    let bad: NonFiniteValue | null = null;
    for (let i = 0; i < n; i++) {
      const row = i * p;
      for (let f = 0; f < p; f++) {
        const v = x[row + f]!;
        means[f]! += v;
        if (v < min[f]!) min[f] = v;
        if (v > max[f]!) max[f] = v;
        if (bad === null && !Number.isFinite(v)) bad = { example: i, feature: f, value: v };
      }
    }
    for (let f = 0; f < p; f++) means[f]! /= n;
    let isConstant = true;
    for (let f = 0; f < p && isConstant; f++) if (max[f] !== min[f]) isConstant = false;
    constant.push(isConstant && bad === null);
    nonFinite.push(bad);
    const offset = offsets[l]!;
    for (let i = 0; i < n; i++) {
      const src = i * p;
      const dst = i * totalWidth + offset;
      for (let f = 0; f < p; f++) concatenated[dst + f] = bad ? 0 : x[src + f]! - means[f]!;
    }
  }

  const k = layers.length;
  const products = new Float64Array(k * k);
  if (!concatenated) return { products, constant, nonFinite, n };
  const session = await computeSession(`gemm_tn_${precision}`, () => gemmTransAGraph(precision), intraOpThreads);
  const cross = workspace.get('crossCovariance', Ctor, totalWidth * totalWidth);
  const f = tensor(concatenated, [n, totalWidth]);
  await runInto(session, { A: f, B: f }, { C: tensor(cross, [totalWidth, totalWidth]) });
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let sum = 0;
      for (let i = offsets[a]!; i < offsets[a]! + widths[a]!; i++) {
        const row = i * totalWidth;
        for (let j = offsets[b]!; j < offsets[b]! + widths[b]!; j++) {
          const c = cross[row + j]!;
          sum += c * c;
        }
      }
      products[a * k + b] = sum;
      products[b * k + a] = sum;
    }
  }
  return { products, constant, nonFinite, n };
}
