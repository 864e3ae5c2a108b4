/**
 * All pairwise HSIC values from one stacked product. Stack the k centred kernels as rows of
 * S (k × n(n+1)/2), one packed upper triangle each, with diagonal entries scaled by √½; then
 *
 *   (S·Sᵀ)_ab = Σ_{i<j} A_ij B_ij + ½ Σ_i A_ii B_ii = ½ tr(AB)     (A, B symmetric)
 *
 * so tr(AB) = 2 (S·Sᵀ)_ab for every pair at once — half the bytes of stacking full n×n matrices.
 * The product runs in float64 (onnxruntime Gemm) over column chunks of S gathered into a reused
 * buffer, applying each kernel's centring view on the fly, and the k×k partial products are summed
 * in float64. A worker computes one range of packed columns; the caller adds the ranges up.
 */
import type { CenteredKernelView } from '../cka/centering.js';
import { packedRowOf, packedRowStart } from '../cka/packed.js';
import { gemmTransBGraph } from './graphs.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

const SQRT_HALF = Math.SQRT1_2;

/** Columns per chunk: k rows of float64 in about 2 MiB. */
export function stackChunkColumns(k: number): number {
  return Math.max(4096, Math.min(65536, Math.floor(2 ** 21 / (8 * k))));
}

/** Writes packed columns [start, start + count) of one centred kernel (diagonal ×√½) into `out`. */
export function gatherCenteredColumns(view: CenteredKernelView, start: number, count: number, out: Float64Array): void {
  const { base, n, shift, zeroDiagonal } = view;
  let i = packedRowOf(n, start);
  let k = start;
  let t = 0;
  const end = start + count;
  while (k < end) {
    const rowStart = packedRowStart(n, i);
    const si = shift[i]!;
    let j = i + (k - rowStart);
    const rowEndK = rowStart + (n - i);
    const stop = Math.min(end, rowEndK);
    if (j === i) {
      out[t++] = zeroDiagonal ? 0 : (base[k]! - 2 * si) * SQRT_HALF;
      k++;
      j++;
    }
    for (; k < stop; k++, j++) out[t++] = base[k]! - si - shift[j]!;
    i++;
  }
}

/**
 * Σ over packed columns [start, end) of S·Sᵀ for the stacked views (k × k, row-major, float64).
 * tr(AB) over the whole range is twice the sum of all ranges' results.
 */
export async function stackedHalfTraceProducts(
  views: readonly CenteredKernelView[],
  start: number,
  end: number,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<Float64Array> {
  const k = views.length;
  const total = new Float64Array(k * k);
  if (end <= start || k === 0) return total;
  const gemm = await computeSession('gemm_nt_float64', () => gemmTransBGraph('float64'), intraOpThreads);
  const columns = stackChunkColumns(k);
  const partial = workspace.get('stackPartial', Float64Array, k * k);
  for (let chunkStart = start; chunkStart < end; chunkStart += columns) {
    const count = Math.min(columns, end - chunkStart);
    const stack = workspace.get('stack', Float64Array, k * count);
    for (let v = 0; v < k; v++)
      gatherCenteredColumns(views[v]!, chunkStart, count, stack.subarray(v * count, (v + 1) * count));
    const s = tensor(stack, [k, count]);
    await runInto(gemm, { A: s, B: s }, { C: tensor(partial, [k, k]) });
    for (let e = 0; e < k * k; e++) total[e]! += partial[e]!;
  }
  return total;
}
