/**
 * The kernels a measure needs, derived from the stored Grams: the linear kernel is the Gram
 * itself; an RBF kernel (rbf.ts) is computed once per layer and threshold from the Gram's
 * distances and stored double-centred; each kernel's diagonal and row sums (from which either
 * centring follows, centred-traces.ts) are computed once. All the O(n²) work runs in the pool.
 * Summaries of Grams are cached for the Gram's lifetime; RBF kernels live as long as the caller
 * holds the returned set.
 */
import type { ComputePool } from '../compute/pool.js';
import { sharedFloat64 } from '../compute/shared-memory.js';
import type { CentredKernelView, CentringMode } from './centring.js';
import { shiftFromSummary, type KernelSummary } from './centred-traces.js';
import { gramProblem, type LayerGram } from './grams.js';
import type { KernelRecipe } from './measures.js';
import { packedLength } from './packed.js';
import type { RunOptions } from './types.js';

export interface KernelSet {
  /** One per layer, in the order given; null where the layer's kernel is undefined. */
  bases: (Float64Array | null)[];
  problems: (string | null)[];
}

const summaryCache = new WeakMap<Float64Array, Promise<KernelSummary>>();

/** Diagonal and row sums of a stored kernel, computed once per kernel array. */
export function summaryOf(
  pool: ComputePool,
  packed: Float64Array,
  n: number,
  signal?: AbortSignal,
): Promise<KernelSummary> {
  let summary = summaryCache.get(packed);
  if (!summary) {
    summary = pool.run<'summary'>({ kind: 'summary', packed, n }, signal);
    summary.catch(() => summaryCache.delete(packed));
    summaryCache.set(packed, summary);
  }
  return summary;
}

export function summariesOf(
  pool: ComputePool,
  set: KernelSet,
  n: number,
  signal?: AbortSignal,
): Promise<(KernelSummary | null)[]> {
  return Promise.all(set.bases.map((base) => (base ? summaryOf(pool, base, n, signal) : null)));
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

/** Centred views of a kernel set (for materialising centred kernels, e.g. in the bootstrap). */
export async function centredViews(
  pool: ComputePool,
  set: KernelSet,
  n: number,
  mode: CentringMode,
  signal?: AbortSignal,
): Promise<(CentredKernelView | null)[]> {
  const summaries = await summariesOf(pool, set, n, signal);
  return set.bases.map((base, i) =>
    base ? { base, n, shift: shiftFromSummary(summaries[i]!, mode), zeroDiagonal: mode === 'unbiased' } : null,
  );
}

export function recipeKernelKey(recipe: KernelRecipe): string {
  return recipe.kernel.kind === 'linear' ? 'linear' : `rbf:${recipe.kernel.threshold}`;
}
