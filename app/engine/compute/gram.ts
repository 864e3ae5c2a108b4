/**
 * One layer's linear Gram for CKA, in onnxruntime:
 *
 * 1. centre the columns first, Xc = X − 1μᵀ, when the column means carry much of the rows'
 *    energy (estimated from a sample of rows): then Kc = XcXcᵀ = HXXᵀH and float32 rounding is
 *    relative to the centred values. Otherwise (e.g. ReLU or normalised activations, where it
 *    costs more than a tenth of the Gram) X itself is used: XXᵀ differs from HXXᵀH only by
 *    a·1ᵀ + 1·aᵀ + c terms, which the exact float64 centrings remove anyway (cka/centring.ts,
 *    cka/centred-traces.ts), at most doubling the relative rounding;
 * 2. the upper triangle of XXᵀ in column blocks: block b is X[b.start:] · X[cols_b]ᵀ, one Gemm on
 *    views of the same buffer, whose narrow operand (the block's rows) is the one the GEMM packs;
 *    by symmetry its lower part is the upper triangle's rows b.start… (T blocks compute (T+1)/2T
 *    of the full product);
 * 3. copy the blocks into the packed float64 Gram.
 *
 * Runs inside a worker thread (onnxruntime's run() blocks its thread).
 */
import { packedRowStart } from '../cka/packed.js';
import type { NonFiniteValue } from '../cka/types.js';
import { centreColumnsGraph, gemmTransBGraph } from './graphs.js';
import type { ComputeDType } from './onnx-graph.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

export interface GramFlags {
  /** Every example has the same activations: the centred Gram is zero and CKA is undefined. */
  constant: boolean;
  /** The first NaN/±Inf activation (or an overflow of the Gram), if any. */
  nonFinite: NonFiniteValue | null;
}

/**
 * Columns per Gemm block: 128 (measured fastest per flop for p in the thousands on these
 * machines; a multiple of the GEMM kernel's 16-column strips). For n = 2000 the blocks compute
 * 53% of the full product.
 */
export function gramBlockSize(n: number): number {
  return n <= 256 ? n : 128;
}

/**
 * ‖μ‖² / mean ‖xᵢ‖² over a sample of up to 64 rows: the share of the rows' energy in the column
 * means. Uncentred products lose about −log₂(1 − share) bits to the later centring.
 */
export function meanEnergyShare(x: ArrayLike<number>, n: number, p: number): number {
  const step = Math.max(1, Math.floor(n / 64));
  const mean = new Float64Array(p);
  let energy = 0;
  let rows = 0;
  for (let i = 0; i < n; i += step, rows++) {
    const row = i * p;
    for (let f = 0; f < p; f++) {
      const v = x[row + f]!;
      mean[f]! += v;
      energy += v * v;
    }
  }
  let meanSquare = 0;
  for (let f = 0; f < p; f++) meanSquare += (mean[f]! / rows) ** 2;
  return energy > 0 ? meanSquare / (energy / rows) : 0;
}

/** Centre first when the means hold more than half the energy (over one bit of precision). */
const CENTRE_ABOVE_SHARE = 0.5;

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

  // 1. centre (or cast) when needed
  let rows: Float32Array | Float64Array = x;
  let meanEnergy = 0; // n‖μ‖², the energy the centring removed
  const share = meanEnergyShare(x, n, p);
  if (input !== precision || !(share <= CENTRE_ABOVE_SHARE)) {
    const centring = await computeSession(
      `centre_${input}_${precision}`,
      () => centreColumnsGraph(input, precision),
      intraOpThreads,
    );
    rows = workspace.get('centred', Ctor, n * p);
    const mean = workspace.get('mean', MeanCtor, p);
    await runInto(centring, { X: tensor(x, [n, p]) }, { Xc: tensor(rows, [n, p]), mean: tensor(mean, [1, p]) });
    for (let f = 0; f < p; f++) meanEnergy += n * mean[f]! * mean[f]!;
  }

  // 2. column blocks of the lower triangle = row blocks of the upper one, 3. packed float64
  const gemm = await computeSession(`gemm_nt_${precision}`, () => gemmTransBGraph(precision), intraOpThreads);
  const blockSize = gramBlockSize(n);
  let trace = 0;
  let total = 0; // 1ᵀG1
  for (let start = 0; start < n; start += blockSize) {
    const width = Math.min(blockSize, n - start);
    const height = n - start;
    const block = workspace.get('gramBlock', Ctor, height * width);
    await runInto(
      gemm,
      {
        A: tensor(rows.subarray(start * p, n * p), [height, p]),
        B: tensor(rows.subarray(start * p, (start + width) * p), [width, p]),
      },
      { C: tensor(block, [height, width]) },
    );
    // block[i − start, j − start] = G[i, j] for i ≥ start, start ≤ j < start + width
    for (let c = 0; c < width; c++) {
      const j = start + c;
      let k = packedRowStart(n, j);
      const diagonal = block[c * width + c]!;
      let offDiagonal = 0;
      packedOut[k++] = diagonal;
      for (let r = (c + 1) * width + c, end = height * width; r < end; r += width) {
        const v = block[r]!;
        packedOut[k++] = v;
        offDiagonal += v;
      }
      trace += diagonal;
      total += diagonal + 2 * offDiagonal;
    }
  }

  if (!Number.isFinite(trace) || !Number.isFinite(total)) {
    const where = firstNonFinite(x, n, p);
    // No non-finite input but a non-finite Gram: the squares overflowed.
    return { constant: false, nonFinite: where ?? { example: -1, feature: -1, value: Infinity } };
  }
  // tr(HGH) = tr(G) − 1ᵀG1/n is all the variance there is; a constant layer leaves only rounding
  // of the energy in it. Confirm exactly when it looks so.
  const centredTrace = trace - total / n;
  const constant = centredTrace <= 1e-6 * (trace + meanEnergy) && allRowsEqual(x, n, p);
  return { constant, nonFinite: null };
}
