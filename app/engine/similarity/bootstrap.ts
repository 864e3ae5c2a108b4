/**
 * The bootstrap of exact CKA, run over the pool: the resample multiplicities (cka/rng.ts) in
 * shared memory, one task per layer for K·W and its moments, one task per row layer for the
 * moments of its pairs (compute/bootstrap-moments.ts). The resampled CKA values and intervals
 * follow from these moments in cka/bootstrap.ts.
 */
import type { BootstrapMoments, CellIndex, LayerMoments, PairMoments } from '../cka/bootstrap.js';
import type { CentredKernelView } from '../cka/centring.js';
import { bootstrapCounts } from '../cka/rng.js';
import type { BootstrapOptions } from '../cka/types.js';
import type { ComputeDType } from '../compute/onnx-graph.js';
import type { ComputePool } from '../compute/pool.js';
import { sharedFloat32, sharedFloat64 } from '../compute/shared-memory.js';
import type { RunOptions } from './types.js';

/** A layer's moments and K·W, kept in shared memory for the pair tasks. */
interface LayerMomentsShared extends LayerMoments {
  kw: Float32Array | Float64Array;
}

/** Moments of every layer and every needed pair, for one kernel (biased-centred views). */
export async function kernelMoments(
  pool: ComputePool,
  views: readonly (CentredKernelView | null)[],
  cells: CellIndex,
  n: number,
  options: Required<BootstrapOptions>,
  dtype: ComputeDType,
  run: RunOptions,
): Promise<BootstrapMoments> {
  const samples = options.samples;
  const counts = bootstrapCounts(n, samples, options.seed);
  const weights =
    dtype === 'float64'
      ? sharedFloat64(counts.length, 'bootstrap weights')
      : sharedFloat32(counts.length, 'bootstrap weights');
  weights.set(counts);

  const layers: (LayerMomentsShared | null)[] = await Promise.all(
    views.map(async (view) => {
      if (!view) return null;
      const kw =
        dtype === 'float64'
          ? sharedFloat64(n * samples, 'bootstrap products')
          : sharedFloat32(n * samples, 'bootstrap products');
      const m = await pool.run<'bootstrapLayer'>(
        { kind: 'bootstrapLayer', view, weights, samples, dtype, kwOut: kw, intraOpThreads: 1 },
        run.signal,
      );
      return { ...m, kw };
    }),
  );

  // Pairs needed: every cell and every layer with itself, each unordered pair once.
  const partners = new Map<number, Set<number>>();
  const need = (a: number, b: number) => {
    if (!views[a] || !views[b]) return;
    const [x, y] = a <= b ? [a, b] : [b, a];
    if (!partners.has(x)) partners.set(x, new Set());
    partners.get(x)!.add(y);
  };
  for (const a of cells.rowIndex) for (const b of cells.colIndex) need(a, b);
  views.forEach((_, u) => need(u, u));

  const pairs = new Map<string, PairMoments>();
  let done = 0;
  const groups = [...partners.entries()];
  await Promise.all(
    groups.map(async ([a, set]) => {
      const cols = [...set];
      const results = await pool.run<'bootstrapPairs'>(
        {
          kind: 'bootstrapPairs',
          rowView: views[a]!,
          rowKW: layers[a]!.kw,
          cols: cols.map((b) => ({ view: views[b]!, kw: layers[b]!.kw })),
          weights,
          samples,
          dtype,
          intraOpThreads: 1,
        },
        run.signal,
      );
      cols.forEach((b, i) => pairs.set(`${a},${b}`, results[i]!));
      run.onProgress?.({ stage: 'bootstrap', done: ++done, total: groups.length });
    }),
  );
  const pair = (a: number, b: number): PairMoments | null => {
    if (a <= b) return pairs.get(`${a},${b}`) ?? null;
    const m = pairs.get(`${b},${a}`);
    return m ? { ...m, diagKTimesLw: m.diagLTimesKw, diagLTimesKw: m.diagKTimesLw } : null;
  };
  return { layers, pair };
}
