/**
 * One layer's centred linear Gram, Kc = (X − 1μᵀ)(X − 1μᵀ)ᵀ = HXXᵀH, in onnxruntime:
 *
 * 1. centre the columns in one small graph — the centring is fused before the product, so the
 *    n×n matrix is never centred as a separate pass;
 * 2. the upper triangle of XcXcᵀ in column blocks: block b is Xc[b.start:] · Xc[cols_b]ᵀ, one
 *    Gemm on views of the same buffer, whose small operand (the block's rows) is the one the GEMM
 *    packs; by symmetry its lower part is the upper triangle's rows b.start… (T blocks compute
 *    (T+1)/2T of the full product);
 * 3. copy the blocks into the packed float64 Gram.
 *
 * The float32 column centring leaves a residual of order 1e-7·|μ|; it only adds a·1ᵀ + 1·aᵀ
 * terms to the Gram, which the exact float64 centring views remove (centering.ts). Runs inside a
 * worker thread (onnxruntime's run() blocks its thread).
 */
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
  /** Every example has the same activations: the centred Gram is zero and CKA is undefined. */
  constant: boolean;
  /** The first NaN/±Inf activation (or an overflow of the Gram), if any. */
  nonFinite: NonFiniteValue | null;
}

/**
 * Columns per Gemm block: about n/12 (the blocks then compute 54% of the full product), a multiple
 * of 16 (the width of the GEMM kernel's column strips), at least 128 (narrower GEMMs lose speed).
 */
export function gramBlockSize(n: number): number {
  if (n <= 384) return n;
  return Math.max(128, Math.ceil(n / 12 / 16) * 16);
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

/** Every row equal to the first (exact comparison). */
export function allRowsEqual(x: ArrayLike<number>, n: number, p: number): boolean {
  for (let i = 1; i < n; i++) {
    const row = i * p;
    for (let f = 0; f < p; f++) if (x[row + f] !== x[f]) return false;
  }
  return true;
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
  const MeanCtor = input === 'float64' || precision === 'float64' ? Float64Array : Float32Array;

  // 1. centre
  const centring = await computeSession(
    `center_${input}_${precision}`,
    () => centerColumnsGraph(input, precision),
    intraOpThreads,
  );
  const xc = workspace.get('centred', Ctor, n * p);
  const mean = workspace.get('mean', MeanCtor, p);
  await runInto(centring, { X: tensor(x, [n, p]) }, { Xc: tensor(xc, [n, p]), mean: tensor(mean, [1, p]) });

  // 2. column blocks of the lower triangle = row blocks of the upper one, 3. packed float64
  const gemm = await computeSession(`gemm_nt_${precision}`, () => gemmTransBGraph(precision), intraOpThreads);
  const blockSize = gramBlockSize(n);
  for (let start = 0; start < n; start += blockSize) {
    const width = Math.min(blockSize, n - start);
    const height = n - start;
    const block = workspace.get('gramBlock', Ctor, height * width);
    await runInto(
      gemm,
      {
        A: tensor(xc.subarray(start * p, n * p), [height, p]),
        B: tensor(xc.subarray(start * p, (start + width) * p), [width, p]),
      },
      { C: tensor(block, [height, width]) },
    );
    // block[i − start, j − start] = G[i, j] for i ≥ start, start ≤ j < start + width
    for (let c = 0; c < width; c++) {
      const j = start + c;
      let k = packedRowStart(n, j);
      for (let r = c * width + c, end = height * width; r < end; r += width) packedOut[k++] = block[r]!;
    }
  }

  let trace = 0;
  for (let i = 0; i < n; i++) trace += packedOut[packedRowStart(n, i)]!;
  if (!Number.isFinite(trace)) {
    const where = firstNonFinite(x, n, p);
    // No non-finite input but a non-finite Gram: the squares overflowed.
    return { constant: false, nonFinite: where ?? { example: -1, feature: -1, value: Infinity } };
  }
  // A constant layer leaves only rounding in the centred Gram; confirm exactly when it looks so.
  let meanSquare = 0;
  for (let f = 0; f < p; f++) meanSquare += mean[f]! * mean[f]!;
  const constant = trace <= 1e-9 * n * meanSquare && allRowsEqual(x, n, p);
  return { constant, nonFinite: null };
}
