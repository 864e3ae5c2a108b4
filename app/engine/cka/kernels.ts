/**
 * The centred kernels a measure needs, derived from the stored Grams: the linear kernel is the
 * Gram itself; an RBF kernel (rbf.ts) is computed once per layer and threshold from the Gram's
 * distances; each (kernel, centring) gets its shift vector once (centering.ts). All the O(n²) work
 * runs in the pool. Shifts of Grams are cached for the Gram's lifetime; RBF kernels live as long as
 * the caller holds the returned set.
 */
import type { ComputePool } from '../compute/pool.js';
import { sharedFloat64 } from '../compute/shared-memory.js';
import type { CenteredKernelView, CenteringMode } from './centering.js';
import { gramProblem, type LayerGram } from './grams.js';
import type { KernelRecipe } from './measures.js';
import { packedLength } from './packed.js';
import type { RunOptions } from './types.js';

export interface KernelSet {
  /** One per layer, in the order given; null where the layer's kernel is undefined. */
  bases: (Float64Array | null)[];
  problems: (string | null)[];
}

const shiftCache = new WeakMap<Float64Array, Map<CenteringMode, Promise<Float64Array>>>();

export function shiftOf(
  pool: ComputePool,
  base: Float64Array,
  n: number,
  mode: CenteringMode,
  signal?: AbortSignal,
): Promise<Float64Array> {
  let byMode = shiftCache.get(base);
  if (!byMode) {
    byMode = new Map();
    shiftCache.set(base, byMode);
  }
  let shift = byMode.get(mode);
  if (!shift) {
    shift = pool.run<'shift'>({ kind: 'shift', base, n, mode }, signal);
    shift.catch(() => byMode.delete(mode));
    byMode.set(mode, shift);
  }
  return shift;
}

/** Linear kernels: the Grams. */
export function linearKernels(grams: readonly LayerGram[]): KernelSet {
  const problems = grams.map(gramProblem);
  return { bases: grams.map((g, i) => (problems[i] ? null : g.gram)), problems };
}

/** RBF kernels for several thresholds at once (one distance pass and one median per layer). */
export async function rbfKernels(
  pool: ComputePool,
  grams: readonly LayerGram[],
  thresholds: readonly number[],
  run: RunOptions,
): Promise<Map<number, KernelSet>> {
  const sets = new Map<number, KernelSet>(thresholds.map((t) => [t, { bases: [], problems: [] }]));
  let done = 0;
  const perLayer = await Promise.all(
    grams.map(async (g) => {
      const problem = gramProblem(g);
      if (problem) return { kernels: null, problem };
      const kernelsOut = thresholds.map(() =>
        sharedFloat64(packedLength(g.n), `the RBF kernel of layer '${g.layer.name}'`),
      );
      const { medianSquaredDistance } = await pool.run<'rbf'>(
        { kind: 'rbf', gram: g.gram, n: g.n, thresholds: [...thresholds], kernelsOut },
        run.signal,
      );
      run.onProgress?.({ stage: 'kernels', done: ++done, total: grams.length, layer: g.layer.name });
      if (!(medianSquaredDistance > 0)) {
        return {
          kernels: null,
          problem: `layer '${g.layer.name}': the median squared distance between examples is 0 (at least half of the example pairs coincide), so the RBF bandwidth is undefined`,
        };
      }
      return { kernels: kernelsOut, problem: null };
    }),
  );
  thresholds.forEach((t, ti) => {
    const set = sets.get(t)!;
    for (const layer of perLayer) {
      set.bases.push(layer.kernels ? layer.kernels[ti]! : null);
      set.problems.push(layer.problem);
    }
  });
  return sets;
}

/** Centred views of a kernel set (shifts computed in the pool, in parallel). */
export async function centeredViews(
  pool: ComputePool,
  set: KernelSet,
  n: number,
  mode: CenteringMode,
  signal?: AbortSignal,
): Promise<(CenteredKernelView | null)[]> {
  return Promise.all(
    set.bases.map(async (base) =>
      base ? { base, n, shift: await shiftOf(pool, base, n, mode, signal), zeroDiagonal: mode === 'unbiased' } : null,
    ),
  );
}

export function recipeKernelKey(recipe: KernelRecipe): string {
  return recipe.kernel.kind === 'linear' ? 'linear' : `rbf:${recipe.kernel.threshold}`;
}
