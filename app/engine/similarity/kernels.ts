/**
 * The kernels a measure needs, derived from the stored Grams, and what every pair of them needs:
 * the linear kernel is the Gram itself; an RBF kernel (cka/rbf.ts) is computed once per layer and
 * threshold from the Gram's distances and stored double-centred; each kernel's diagonal and row
 * sums (from which either centring follows, cka/centred-traces.ts) are computed once; the raw
 * products of all pairs come from one stacked product. All the O(n²) work runs in the pool.
 * Summaries of Grams are cached for the Gram's lifetime; RBF kernels live as long as the caller
 * holds the returned set.
 */
import type { CentredKernelView, CentringMode } from '../cka/centring.js';
import { shiftFromSummary, type KernelSummary } from '../cka/centred-traces.js';
import type { KernelRecipe } from '../cka/measures.js';
import { packedLength, type PackedArray } from '../cka/packed.js';
import type { ComputePool } from '../compute/pool.js';
import { sharedFloat64 } from '../compute/shared-memory.js';
import { gramProblem, type LayerGram } from './grams.js';
import type { RunOptions } from './types.js';

export interface KernelSet {
  /** One per layer, in the order given; null where the layer's kernel is undefined. */
  bases: (PackedArray | null)[];
  problems: (string | null)[];
}

const summaryCache = new WeakMap<PackedArray, Promise<KernelSummary>>();

/** Diagonal and row sums of a stored kernel, computed once per kernel array. */
export function summaryOf(
  pool: ComputePool,
  packed: PackedArray,
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

/**
 * All pairwise raw products Σ_{i≤j} A_ij B_ij of a set of packed kernels from one stacked product
 * (compute/hsic-stack.ts), its packed columns split into one contiguous range per thread. Partial
 * sums are added in range order, so the result does not depend on which thread finished first.
 * cka/centred-traces.ts turns them into centred traces for either centring.
 * @returns k×k row-major products; rows/columns of null kernels are 0.
 */
export async function pairwisePackedProducts(
  pool: ComputePool,
  kernels: readonly (PackedArray | null)[],
  n: number,
  run: RunOptions,
): Promise<Float64Array> {
  const k = kernels.length;
  const present = kernels.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  const stacked = present.map((i) => kernels[i]!);
  const products = new Float64Array(k * k);
  if (stacked.length === 0) return products;
  const total = packedLength(n);
  const ranges = Math.max(1, Math.min(pool.threads, Math.ceil(total / 65536)));
  const step = Math.ceil(total / ranges);
  let done = 0;
  const partials = await Promise.all(
    Array.from({ length: ranges }, async (_, r) => {
      const start = r * step;
      const end = Math.min(total, start + step);
      const partial = await pool.run<'stack'>(
        { kind: 'stack', packed: stacked, start, end, intraOpThreads: 1 },
        run.signal,
      );
      run.onProgress?.({ stage: 'hsic', done: ++done, total: ranges });
      return partial;
    }),
  );
  const s = stacked.length;
  for (const partial of partials) {
    for (let a = 0; a < s; a++) {
      for (let b = 0; b < s; b++) products[present[a]! * k + present[b]!]! += partial[a * s + b]!;
    }
  }
  return products;
}
