/**
 * One layer's centred linear Gram, Kc = (X − 1μᵀ)(X − 1μᵀ)ᵀ = HXXᵀH, in onnxruntime:
 *
 * 1. centre the columns (and measure each column's range) in one small graph — the centring is
 *    fused before the product, so the n×n matrix is never centred as a separate O(n²p) step;
 * 2. the upper triangle of XcXcᵀ in row blocks: block b is Xc[rows_b] · Xc[rows_b.start:]ᵀ, one
 *    Gemm on views of the same buffer (symmetry: (T+1)/2T of the full product for T blocks);
 * 3. pack the blocks into float64 and re-centre them in float64 (the float32 centring leaves a
 *    residual of order 1e-7·|μ|; double centring removes it exactly, see centering.ts).
 *
 * Runs inside a worker thread (onnxruntime's run() blocks its thread).
 */
import { centeringShift } from '../cka/centering.js';
import { packedRowStart } from '../cka/packed.js';
import { centerColumnsGraph, gemmTransBGraph } from './graphs.js';
import type { ComputeDType } from './onnx-graph.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

export interface NonFiniteValue {
  example: number;
  feature: number;
  value: number;
}

export interface GramFlags {
  /** Every column constant across examples: the centred Gram is zero and CKA is undefined. */
  constant: boolean;
  /** The first NaN/±Inf activation (or an overflow of the Gram), if any. */
  nonFinite: NonFiniteValue | null;
}

/** Rows per Gemm block: big enough to keep the GEMM efficient, small enough to skip most of the lower triangle. */
export function gramRowBlock(n: number): number {
  if (n <= 384) return n;
  return Math.max(256, Math.ceil(n / 6));
}

export function firstNonFinite(x: ArrayLike<number>, n: number, p: number): NonFiniteValue | null {
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let f = 0; f < p; f++) {
      const v = x[row + f]!;
      if (!Number.isFinite(v)) return { example: i, feature: f, value: v };
    }
  }
  return null;
}

/**
 * Computes the centred Gram of x [n, p] (a thread-local, non-shared array) into `packedOut`
 * (n(n+1)/2 float64, usually shared memory owned by the caller).
 */
export async function centredGramInto(
  x: Float32Array | Float64Array,
  n: number,
  p: number,
  precision: ComputeDType,
  packedOut: Float64Array,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<GramFlags> {
  const input: ComputeDType = x instanceof Float64Array ? 'float64' : 'float32';
  const Ctor = precision === 'float64' ? Float64Array : Float32Array;
  const RangeCtor = input === 'float64' || precision === 'float64' ? Float64Array : Float32Array;

  // 1. centre
  const centring = await computeSession(
    `center_${input}_${precision}`,
    () => centerColumnsGraph(input, precision),
    intraOpThreads,
  );
  const xc = workspace.get('centred', Ctor, n * p);
  const range = workspace.get('range', RangeCtor, p);
  await runInto(centring, { X: tensor(x, [n, p]) }, { Xc: tensor(xc, [n, p]), range: tensor(range, [p]) });

  // 2. upper-triangle blocks, 3. packed float64
  const gemm = await computeSession(`gemm_nt_${precision}`, () => gemmTransBGraph(precision), intraOpThreads);
  const rowBlock = gramRowBlock(n);
  for (let start = 0; start < n; start += rowBlock) {
    const rows = Math.min(rowBlock, n - start);
    const cols = n - start;
    const block = workspace.get('gramBlock', Ctor, rows * cols);
    await runInto(
      gemm,
      {
        A: tensor(xc.subarray(start * p, (start + rows) * p), [rows, p]),
        B: tensor(xc.subarray(start * p, n * p), [cols, p]),
      },
      { C: tensor(block, [rows, cols]) },
    );
    for (let r = 0; r < rows; r++) {
      const g = start + r;
      // row g of the Gram from column g on = block row r from column r on
      packedOut.set(block.subarray(r * cols + r, (r + 1) * cols), packedRowStart(n, g));
    }
  }

  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(packedOut[packedRowStart(n, i)]!)) {
      const where = firstNonFinite(x, n, p);
      // No non-finite input but a non-finite Gram: the squares overflowed float32.
      return { constant: false, nonFinite: where ?? { example: i, feature: -1, value: Infinity } };
    }
  }
  let constant = true;
  for (let f = 0; f < p && constant; f++) if (range[f] !== 0) constant = false;

  const shift = centeringShift(packedOut, n, 'biased');
  let k = 0;
  for (let i = 0; i < n; i++) {
    const si = shift[i]!;
    for (let j = i; j < n; j++, k++) packedOut[k]! -= si + shift[j]!;
  }
  return { constant, nonFinite: null };
}
