/**
 * The stacked product behind all pairwise HSIC values. Stack k packed kernels (cka/packed.ts) as the
 * rows of S (k × n(n+1)/2); then (S·Sᵀ)_ab = Σ_{i≤j} A_ij B_ij for every pair at once, from which
 * tr(AB) = 2 (S·Sᵀ)_ab − Σᵢ AᵢᵢBᵢᵢ and the centred traces follow in O(n) (cka/centred-traces.ts) —
 * half the bytes of stacking full n×n matrices, and one product per kernel for every centring.
 *
 * The product runs in float64 (onnxruntime Gemm) over column chunks of S copied into a reused
 * float64 buffer (onnxruntime cannot read shared memory; float32 Grams are widened by the copy),
 * and the k×k partial products are summed in float64. A worker computes one range of packed
 * columns; the caller adds the ranges up.
 */
import type { PackedArray } from '../cka/packed.js';
import { gemmTransBGraph } from './graphs.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

/** Columns per chunk: k rows of float64 in about 2 MiB. */
export function stackChunkColumns(k: number): number {
  return Math.max(4096, Math.min(65536, Math.floor(2 ** 21 / (8 * k))));
}

/** k×k row-major Σ over packed columns [start, end) of A[c]·B[c], for all pairs of `packed`. */
export async function stackedPackedProducts(
  packed: readonly PackedArray[],
  start: number,
  end: number,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<Float64Array> {
  const k = packed.length;
  const total = new Float64Array(k * k);
  if (end <= start || k === 0) return total;
  const gemm = await computeSession('gemm_nt_float64', () => gemmTransBGraph('float64'), intraOpThreads);
  const columns = stackChunkColumns(k);
  const partial = workspace.get('stackPartial', Float64Array, k * k);
  for (let chunkStart = start; chunkStart < end; chunkStart += columns) {
    const count = Math.min(columns, end - chunkStart);
    const stack = workspace.get('stack', Float64Array, k * count);
    for (let v = 0; v < k; v++) stack.set(packed[v]!.subarray(chunkStart, chunkStart + count), v * count);
    const s = tensor(stack, [k, count]);
    await runInto(gemm, { A: s, B: s }, { C: tensor(partial, [k, k]) });
    for (let e = 0; e < k * k; e++) total[e]! += partial[e]!;
  }
  return total;
}
