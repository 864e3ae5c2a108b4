/**
 * The CCA-family measures of one pair of layers, in a worker thread: M = U_aᵀ U_b in onnxruntime
 * (float64; not formed when every measure is undefined for the pair, e.g. CCA of a layer with
 * p ≥ n), then each measure from the two layers' factors (cka/cca-family.ts), in the directions
 * asked for — (X = a, Y = b), and (X = b, Y = a) from the same M transposed.
 */
import { baselineReason, baselineValue, transpose, type Outcome, type PairProducts } from '../cka/cca-family.js';
import type { LayerFactors } from '../cka/layer-factors.js';
import { isAsymmetric } from '../cka/measures.js';
import type { BaselineMeasure } from '../cka/types.js';
import { ortEigenProducts, ortMultiply, ortMultiplyTransA } from './linalg-products.js';
import type { Workspace } from './workspace.js';

export interface BaselinePairResult {
  /** Per measure: X = a, Y = b. */
  forward: Outcome[];
  /** Per measure: X = b, Y = a (when asked for). */
  backward: Outcome[] | null;
}

export async function baselinePair(
  a: LayerFactors,
  b: LayerFactors,
  measures: readonly BaselineMeasure[],
  backward: boolean,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<BaselinePairResult> {
  const products: PairProducts = { ...ortEigenProducts(intraOpThreads), multiply: ortMultiply(intraOpThreads) };
  // M only when some measure has a value in some direction asked for
  const needed = measures.some(
    (measure) => baselineReason(measure, a, b) === null || (backward && baselineReason(measure, b, a) === null),
  );
  let m: Float64Array | null = null;
  if (needed) {
    const ua = workspace.get('pairLeft', Float64Array, a.n * a.r);
    const ub = workspace.get('pairRight', Float64Array, b.n * b.r);
    ua.set(a.u);
    ub.set(b.u);
    m = new Float64Array(a.r * b.r);
    await ortMultiplyTransA(ua, ub, a.n, a.r, b.r, m, intraOpThreads);
  }
  const forward: Outcome[] = [];
  for (const measure of measures) forward.push(await baselineValue(measure, a, b, m, products));
  if (!backward) return { forward, backward: null };
  const mt = m ? transpose(m, a.r, b.r) : null;
  const reversed: Outcome[] = [];
  for (const [i, measure] of measures.entries()) {
    // A symmetric measure's value is the same both ways; its reason names the sides, so recompute that.
    const same = !isAsymmetric(measure) && forward[i]!.value !== null;
    reversed.push(same ? forward[i]! : await baselineValue(measure, b, a, mt, products));
  }
  return { forward, backward: reversed };
}
