/**
 * All pairwise raw products Σ_{i≤j} A_ij B_ij of a set of packed kernels from one stacked product
 * (compute/hsic-stack.ts), its packed columns split into one contiguous range per thread. Partial
 * sums are added in range order, so the result does not depend on which thread finished first.
 * centred-traces.ts turns them into centred traces for either centring.
 */
import type { ComputePool } from '../compute/pool.js';
import { packedLength } from './packed.js';
import type { RunOptions } from './types.js';

/** @returns k×k row-major products; rows/columns of null kernels are 0. */
export async function pairwisePackedProducts(
  pool: ComputePool,
  kernels: readonly (Float64Array | null)[],
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
