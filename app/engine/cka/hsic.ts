/**
 * All pairwise traces tr(K̃_a K̃_b) of a set of centred kernels from one stacked product (see
 * compute/hsic-stack.ts), its packed columns split into one contiguous range per thread. Partial
 * sums are added in range order, so the result does not depend on which thread finished first.
 */
import type { ComputePool } from '../compute/pool.js';
import type { CenteredKernelView } from './centering.js';
import { packedLength } from './packed.js';
import type { RunOptions } from './types.js';

/**
 * @returns k×k row-major traces for the given views; rows/columns of null views are 0.
 */
export async function pairwiseTraces(
  pool: ComputePool,
  views: readonly (CenteredKernelView | null)[],
  n: number,
  run: RunOptions,
): Promise<Float64Array> {
  const k = views.length;
  const present = views.map((v, i) => (v ? i : -1)).filter((i) => i >= 0);
  const stacked = present.map((i) => views[i]!);
  const traces = new Float64Array(k * k);
  if (stacked.length === 0) return traces;
  const total = packedLength(n);
  const ranges = Math.max(1, Math.min(pool.threads, Math.ceil(total / 65536)));
  const step = Math.ceil(total / ranges);
  let done = 0;
  const partials = await Promise.all(
    Array.from({ length: ranges }, async (_, r) => {
      const start = r * step;
      const end = Math.min(total, start + step);
      const partial = await pool.run<'stack'>(
        { kind: 'stack', views: stacked, start, end, intraOpThreads: 1 },
        run.signal,
      );
      run.onProgress?.({ stage: 'hsic', done: ++done, total: ranges });
      return partial;
    }),
  );
  const s = stacked.length;
  for (const partial of partials) {
    for (let a = 0; a < s; a++) {
      for (let b = 0; b < s; b++) traces[present[a]! * k + present[b]!]! += 2 * partial[a * s + b]!;
    }
  }
  return traces;
}
