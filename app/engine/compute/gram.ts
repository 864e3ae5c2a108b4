/**
 * One layer's linear Gram for CKA, in onnxruntime:
 *
 * 1. shift the columns first, Xs = X − 1cᵀ, when the column means carry much of the rows' energy
 *    (estimated from a sample of rows): c is that sample's column means, so the float32 rounding
 *    is relative to nearly centred values, as if X were centred. Any c gives the same result:
 *    H(X − 1cᵀ) = HX, so XsXsᵀ differs from HXXᵀH only by a·1ᵀ + 1·aᵀ + c terms, which the exact
 *    float64 centrings remove anyway (cka/centring.ts, cka/centred-traces.ts). X itself (c = 0)
 *    is used when the means hold little of the energy (e.g. many ReLU or normalised activations,
 *    where the shift costs more than a tenth of the Gram), at most doubling the relative
 *    rounding. The shift (and a cast to the Gram's precision) is one pass in JavaScript,
 *    in place when the caller's array is scratch; exact means took a second pass over X, and as
 *    an onnxruntime graph it needed a second n×p buffer of fresh memory per layer;
 * 2. the upper triangle of XXᵀ by row chunks X₀…X_{k−1}: one run of a graph whose inputs are the
 *    chunks and whose outputs are the blocks XₐX_bᵀ for a ≤ b (k(k+1)/2 Gemms, (k+1)/2k of the
 *    full product): smaller chunks leave less of XXᵀ to compute, but make smaller products,
 *    which run slower (CHUNK_BYTES, MAX_CHUNK_ROWS). onnxruntime-node reads the inputs where
 *    they are (a 400 MB input costs a run nothing) but copies every output into a new buffer,
 *    which is thrown away here: the blocks are fetched into the workspace. When the blocks would
 *    not fit the workspace (very many examples), column blocks X[s:]·X[s:s+w]ᵀ run one at a time
 *    instead;
 * 3. copy the blocks into the packed Gram: float32 for a float32 product (it holds every value the
 *    product gives exactly, in half the memory of float64), else float64.
 *
 * Runs inside a worker thread (onnxruntime's run() blocks its thread).
 */
import { WorkbenchError } from '../../common/errors.js';
import { packedRowStart, type PackedArray } from '../cka/packed.js';
import type { NonFiniteValue } from '../cka/types.js';
import { chunkGramGraph, gemmTransBGraph } from './graphs.js';
import { arrayTypeOf, dtypeOf, type ComputeDType } from './onnx-graph.js';
import { computeSession, runInto, tensor, type OrtTensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

export interface GramFlags {
  /** Every example has the same activations: the centred Gram is zero and CKA is undefined. */
  constant: boolean;
  /** The first NaN/±Inf activation (or an overflow of the Gram), if any. */
  nonFinite: NonFiniteValue | null;
}

/**
 * Columns per Gemm block of the fallback (too many examples for one run): 128, measured fastest
 * per flop for p in the thousands; a multiple of the GEMM kernel's 16-column strips.
 */
export function gramBlockSize(n: number): number {
  return n <= 256 ? n : 128;
}

/**
 * Largest input chunk: measured fastest of 6–24 MiB for a 2000 × 12,544 layer (smaller chunks
 * leave less of XXᵀ to compute; onnxruntime's single-thread Gemm of 250 × 12,544 chunks runs at
 * ~172 GFLOP/s here, as fast as larger ones, and of 125-row chunks at ~133).
 */
const CHUNK_BYTES = 12 * 2 ** 20;
/**
 * Most rows a chunk takes. Sized by bytes alone, narrower layers made few tall chunks, which leave
 * more of XXᵀ to compute, while Gemms of 192–336-row chunks ran about equally fast (n = 2000, one
 * thread, best of 5): p = 1568 in one chunk (the whole product) 76 ms, in 240-row chunks 45;
 * p = 3136 in 992-row chunks 99–114 ms, in 240-row ones 79–84; p = 6272 in 496-row chunks
 * 163–179 ms, in 240-row ones 151–165. Wider layers reach 240 rows by bytes (12,544 features).
 */
const MAX_CHUNK_ROWS = 240;
/** At most this many chunks (k(k+1)/2 Gemm nodes in one graph). */
const MAX_CHUNKS = 12;
/** Blocks of one run larger than this use the column-block fallback instead. */
const MAX_BLOCK_BYTES = 160 * 2 ** 20;

/** How a Gram is cut: `count` chunks of `rows` examples (the last may be shorter). */
export interface GramChunks {
  rows: number;
  count: number;
  /** Entries of the blocks XₐX_bᵀ, a ≤ b: what one run computes and returns. */
  blockEntries: number;
}

/** Sizes the tests and benches may change; the defaults are the reasoned ones above. */
export interface GramTuning {
  chunkBytes?: number;
  maxChunkRows?: number;
  maxBlockBytes?: number;
}

/** The chunks of X [n, p] whose values take `bytesPerValue` bytes each. */
export function gramChunks(n: number, p: number, bytesPerValue: number, tuning: GramTuning = {}): GramChunks {
  const chunkBytes = tuning.chunkBytes ?? CHUNK_BYTES;
  const byBytes = Math.floor(chunkBytes / (bytesPerValue * Math.max(1, p)) / 16) * 16;
  const wanted = Math.min(byBytes, tuning.maxChunkRows ?? MAX_CHUNK_ROWS);
  const rows = Math.max(1, Math.min(n, Math.max(128, wanted, Math.ceil(n / MAX_CHUNKS))));
  const count = Math.ceil(n / rows);
  const last = n - (count - 1) * rows;
  // full chunks among themselves, each with the last, and the last with itself
  const full = count - 1;
  const blockEntries = ((full * (full + 1)) / 2) * rows * rows + full * rows * last + last * last;
  return { rows, count, blockEntries };
}

/** Whether one run computes the whole Gram (else the column-block fallback). */
export function gramInOneRun(n: number, p: number, bytesPerValue: number, tuning: GramTuning = {}): boolean {
  const blocks = gramChunks(n, p, bytesPerValue, tuning).blockEntries * bytesPerValue;
  return blocks <= (tuning.maxBlockBytes ?? MAX_BLOCK_BYTES);
}

/** A sample of the rows: its column means and the share of the rows' energy in them. */
export interface SampledMeans {
  /** Column means of the sampled rows, in float64. */
  mean: Float64Array;
  /**
   * ‖μ‖² / mean ‖xᵢ‖²: the share of the rows' energy in the column means. Uncentred products lose
   * about −log₂(1 − share) bits to the later centring.
   */
  share: number;
}

/** Column means and their energy share over a sample of up to 64 evenly spaced rows. */
export function sampledMeans(x: ArrayLike<number>, n: number, p: number): SampledMeans {
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
  for (let f = 0; f < p; f++) {
    mean[f]! /= rows;
    meanSquare += mean[f]! ** 2;
  }
  return { mean, share: energy > 0 ? meanSquare / (energy / rows) : 0 };
}

/** Shift first when the means hold more than half the energy (over one bit of precision). */
const SHIFT_ABOVE_SHARE = 0.5;

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

/** tr(G) and 1ᵀG1 of the Gram just packed: the constant-layer and overflow checks use them. */
interface GramSums {
  trace: number;
  total: number;
}

/** The rows the product runs on, and what the shift pass saw. */
interface ProductRows {
  rows: Float32Array | Float64Array;
  /** n‖c‖²: the energy the shift took out of the rows (0 unshifted). */
  shiftEnergy: number;
  /** The first NaN/±Inf activation, when the shift pass ran (it reads every value). */
  nonFinite: NonFiniteValue | null;
}

/**
 * The rows the product runs on: x, or x less the shift c and/or cast to the Gram's precision, in
 * place when allowed (same dtype) or else in the workspace. c is rounded to x's precision, so each
 * xᵢ − c is rounded once to the Gram's precision, as the arithmetic of that dtype would.
 */
function productRows(
  x: Float32Array | Float64Array,
  n: number,
  p: number,
  precision: ComputeDType,
  shift: Float64Array | null,
  overwrite: boolean,
  workspace: Workspace,
): ProductRows {
  const Ctor = arrayTypeOf(precision);
  const sameType = x instanceof Ctor;
  if (!shift) {
    if (sameType) return { rows: x, shiftEnergy: 0, nonFinite: null };
    const rows = workspace.get('centred', Ctor, n * p);
    rows.set(x);
    return { rows, shiftEnergy: 0, nonFinite: null };
  }
  const rows = sameType && overwrite ? x : workspace.get('centred', Ctor, n * p);
  const nonFinite = subtractShift(x, rows, n, p, shift);
  let shiftEnergy = 0;
  for (let f = 0; f < p; f++) shiftEnergy += n * shift[f]! * shift[f]!;
  return { rows, shiftEnergy, nonFinite };
}

/** rows = x − 1cᵀ in one pass (rows may be x), noting the first non-finite value of x on the way. */
function subtractShift(
  x: Float32Array | Float64Array,
  rows: Float32Array | Float64Array,
  n: number,
  p: number,
  shift: Float64Array,
): NonFiniteValue | null {
  let first = -1;
  for (let i = 0; i < n; i++) {
    const row = i * p;
    for (let f = 0; f < p; f++) {
      const v = x[row + f]!;
      if (v - v !== 0 && first < 0) first = row + f; // NaN or ±Inf
      rows[row + f] = v - shift[f]!;
    }
  }
  // In place, x[first] now holds v − c: v itself, for v NaN or ±Inf and c finite.
  return first < 0 ? null : { example: Math.floor(first / p), feature: first % p, value: x[first]! };
}

/** The shift for x: the sampled means rounded to x's precision; null when one is not finite. */
function shiftOf(sampled: Float64Array, x: Float32Array | Float64Array): Float64Array | null {
  const round = x instanceof Float32Array ? Math.fround : (v: number) => v;
  const shift = new Float64Array(sampled.length);
  for (let f = 0; f < shift.length; f++) {
    shift[f] = round(sampled[f]!);
    if (!Number.isFinite(shift[f])) return null;
  }
  return shift;
}

/** The whole upper triangle in one run over row chunks (see the module comment). */
async function chunkedGramInto(
  rows: Float32Array | Float64Array,
  n: number,
  p: number,
  packedOut: PackedArray,
  workspace: Workspace,
  intraOpThreads: number,
  tuning: GramTuning,
): Promise<GramSums> {
  const precision = dtypeOf(rows);
  const Ctor = arrayTypeOf(precision);
  const { rows: size, count, blockEntries } = gramChunks(n, p, Ctor.BYTES_PER_ELEMENT, tuning);
  const session = await computeSession(
    `gram_chunks_${count}_${precision}`,
    () => chunkGramGraph(count, precision),
    intraOpThreads,
  );
  const startOf = (a: number) => a * size;
  const rowsOf = (a: number) => Math.min(size, n - a * size);
  const feeds: Record<string, OrtTensor> = {};
  for (let a = 0; a < count; a++) {
    feeds[`C${a}`] = tensor(rows.subarray(startOf(a) * p, (startOf(a) + rowsOf(a)) * p), [rowsOf(a), p]);
  }
  const all = workspace.get('gramBlocks', Ctor, blockEntries);
  const blocks: { a: number; b: number; data: Float32Array | Float64Array }[] = [];
  const fetches: Record<string, OrtTensor> = {};
  let offset = 0;
  for (let a = 0; a < count; a++) {
    for (let b = a; b < count; b++) {
      const data = all.subarray(offset, offset + rowsOf(a) * rowsOf(b));
      offset += data.length;
      blocks.push({ a, b, data });
      fetches[`G${a}_${b}`] = tensor(data, [rowsOf(a), rowsOf(b)]);
    }
  }
  await runInto(session, feeds, fetches);

  let trace = 0;
  let total = 0; // 1ᵀG1
  for (const { a, b, data } of blocks) {
    const width = rowsOf(b);
    for (let r = 0, height = rowsOf(a); r < height; r++) {
      const i = startOf(a) + r;
      // row i of the block, G[i, j] for j ≥ i: from the diagonal on in a diagonal block
      const first = a === b ? r : 0;
      const row = data.subarray(r * width + first, (r + 1) * width);
      packedOut.set(row, packedRowStart(n, i) + startOf(b) + first - i);
      let sum = 0;
      for (let e = 0; e < row.length; e++) sum += row[e]!;
      if (a === b) {
        trace += row[0]!;
        total += 2 * sum - row[0]!; // the diagonal once, the rest twice
      } else {
        total += 2 * sum;
      }
    }
  }
  return { trace, total };
}

/** The fallback: column blocks of the lower triangle (= row blocks of the upper one), one run each. */
async function columnBlockGramInto(
  rows: Float32Array | Float64Array,
  n: number,
  p: number,
  packedOut: PackedArray,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<GramSums> {
  const precision = dtypeOf(rows);
  const Ctor = arrayTypeOf(precision);
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
  return { trace, total };
}

export interface GramOptions extends GramTuning {
  /** x is scratch the shift may write into (it then holds the shifted rows); else it is left as it was. */
  overwrite?: boolean;
}

/**
 * Computes the centred Gram of x [n, p] (a thread-local, non-shared array) into `packedOut`
 * (n(n+1)/2 values, usually shared memory owned by the caller; float32 only when `precision` is).
 */
export async function centredGramInto(
  x: Float32Array | Float64Array,
  n: number,
  p: number,
  precision: ComputeDType,
  packedOut: PackedArray,
  workspace: Workspace,
  intraOpThreads: number,
  options: GramOptions = {},
): Promise<GramFlags> {
  if (packedOut instanceof Float32Array && precision !== 'float32') {
    throw new WorkbenchError('INTERNAL', `a ${precision} Gram cannot be stored in float32 without rounding it`);
  }
  // 1. shift (and cast, which costs the same pass) when needed, 2.–3. the blocks, packed
  const cast = dtypeOf(x) !== precision;
  const sampled = sampledMeans(x, n, p);
  const shift = cast || !(sampled.share <= SHIFT_ABOVE_SHARE) ? shiftOf(sampled.mean, x) : null;
  const { rows, shiftEnergy, nonFinite } = productRows(
    x,
    n,
    p,
    precision,
    shift,
    options.overwrite ?? false,
    workspace,
  );
  const { trace, total } = gramInOneRun(n, p, rows.BYTES_PER_ELEMENT, options)
    ? await chunkedGramInto(rows, n, p, packedOut, workspace, intraOpThreads, options)
    : await columnBlockGramInto(rows, n, p, packedOut, workspace, intraOpThreads);

  if (!Number.isFinite(trace) || !Number.isFinite(total)) {
    // Name the first NaN/±Inf activation (the shift pass saw every one; else look): if there is
    // none, the squares (or the shifted values) overflowed.
    const where = shift ? nonFinite : firstNonFinite(x, n, p);
    return { constant: false, nonFinite: where ?? { example: -1, feature: -1, value: Infinity } };
  }
  // tr(HGH) = tr(G) − 1ᵀG1/n is all the variance there is; a constant layer leaves only rounding
  // of the energy in it. Confirm exactly when it looks so (centred rows are equal when x's are).
  const centredTrace = trace - total / n;
  const constant = centredTrace <= 1e-6 * (trace + shiftEnergy) && allRowsEqual(x, n, p);
  return { constant, nonFinite: null };
}
