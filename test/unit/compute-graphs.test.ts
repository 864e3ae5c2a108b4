/**
 * The onnxruntime compute graphs against plain float64 loops: the hand-written ONNX encoder, the
 * upper-triangle Gram with centring (one chunk, several row chunks in one run, and the column-block
 * fallback; float32 and float64), the non-finite and constant checks, and the stacked HSIC product.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { centredInnerProduct, centredView, materialiseCentred } from '../../app/engine/cka/centring.js';
import { centredTraces, kernelSummary } from '../../app/engine/cka/centred-traces.js';
import { packedIndex, packedLength } from '../../app/engine/cka/packed.js';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { gemmTransBGraph } from '../../app/engine/compute/graphs.js';
import { centredGramInto, gramBlockSize, gramChunks, type GramTuning } from '../../app/engine/compute/gram.js';
import { stackedPackedProducts } from '../../app/engine/compute/hsic-stack.js';
import { computeSession, releaseSessions, runInto, tensor } from '../../app/engine/compute/ort-sessions.js';
import { Workspace } from '../../app/engine/compute/workspace.js';

function uniform(length: number, seed: number, offset = 0): Float64Array {
  const rng = new Mulberry32(seed);
  return Float64Array.from({ length }, () => rng.nextUint32() / 2 ** 32 - 0.5 + offset);
}

/** (X − mean)(X − mean)ᵀ in float64 loops. */
function centredGramReference(x: ArrayLike<number>, n: number, p: number): Float64Array {
  const means = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let f = 0; f < p; f++) means[f]! += x[i * p + f]! / n;
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let f = 0; f < p; f++) s += (x[i * p + f]! - means[f]!) * (x[j * p + f]! - means[f]!);
      gram[i * n + j] = s;
      gram[j * n + i] = s;
    }
  }
  return gram;
}

describe('compute graphs in onnxruntime', () => {
  const workspace = new Workspace();
  afterAll(() => releaseSessions());

  it('runs a hand-encoded Gemm (A·Bᵀ) in float32 and float64', async () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const session = await computeSession(`gemm_nt_${dtype}`, () => gemmTransBGraph(dtype), 1);
      const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
      const a = Ctor.from([1, 2, 3, 4, 5, 6]); // 2×3
      const b = Ctor.from([1, 0, -1, 2, 1, 0, 0.5, 0.5, 0.5, 3, 2, 1]); // 4×3
      const c = new Ctor(8);
      await runInto(session, { A: tensor(a, [2, 3]), B: tensor(b, [4, 3]) }, { C: tensor(c, [2, 4]) });
      expect(Array.from(c)).toEqual([-2, 4, 3, 10, -2, 13, 7.5, 28]);
    }
  });

  it('computes the centred Gram in one chunk, in row chunks and in column blocks, float32 and float64', async () => {
    const n = 700;
    const p = 37;
    const x64 = uniform(n * p, 1, 3); // an offset of 3: the centring matters
    const reference = centredGramReference(x64, n, p);
    const plans: [string, GramTuning][] = [
      ['one chunk', { maxChunkRows: n }],
      // 240-row chunks (the default for narrow layers): two full ones and a last of 220 rows
      ['default chunks', {}],
      // 128-row chunks: five full ones and a last of 60 rows, 21 blocks in one run
      ['row chunks', { chunkBytes: 1 }],
      ['column blocks', { maxBlockBytes: 0 }],
    ];
    expect(gramChunks(n, p, 4, plans[0]![1])).toMatchObject({ rows: n, count: 1 });
    expect(gramChunks(n, p, 4, plans[1]![1])).toMatchObject({ rows: 240, count: 3 });
    expect(gramChunks(n, p, 4, plans[2]![1])).toMatchObject({ rows: 128, count: 6 });
    expect(gramBlockSize(n)).toBeLessThan(n / 3);
    for (const [plan, tuning] of plans) {
      for (const [x, tolerance] of [
        [x64, 1e-12],
        [Float32Array.from(x64), 1e-5],
      ] as const) {
        const precision = x instanceof Float64Array ? 'float64' : 'float32';
        // kept as the engine keeps it: a float32 product in float32 (grams.ts)
        const packed = new (precision === 'float32' ? Float32Array : Float64Array)(packedLength(n));
        const flags = await centredGramInto(x, n, p, precision, packed, workspace, 2, tuning);
        expect(flags, plan).toEqual({ constant: false, nonFinite: null });
        if (precision === 'float32') {
          // float32 holds the product's values exactly: float64 storage holds the same numbers
          const wide = new Float64Array(packedLength(n));
          await centredGramInto(x, n, p, precision, wide, workspace, 2, tuning);
          expect(Array.from(packed)).toEqual(Array.from(wide));
        } else {
          await expect(
            centredGramInto(x, n, p, precision, new Float32Array(packedLength(n)), workspace, 2, tuning),
          ).rejects.toMatchObject({ code: 'INTERNAL' });
        }
        // Stored: the Gram of the rows less a shift near their means (a sample's), which only the
        // exact float64 centring view turns into HXXᵀH.
        const exact = materialiseCentred(centredView(packed, n, 'biased'));
        let maxError = 0;
        for (let i = 0; i < n; i += 7) {
          for (let j = i; j < n; j += 3)
            maxError = Math.max(maxError, Math.abs(exact[packedIndex(n, i, j)]! - reference[i * n + j]!));
        }
        expect(maxError, `${plan}, ${precision}`).toBeLessThan(tolerance * 10);
      }
    }
  });

  it('sizes row chunks below the mmap threshold and counts the blocks one run computes', () => {
    // the e2e bench's widest layer: 2000 examples × 12,544 float32 features, 12 MiB chunks of 240 rows
    expect(gramChunks(2000, 12_544, 4)).toEqual({
      rows: 240,
      count: 9,
      blockEntries: 36 * 240 * 240 + 8 * 240 * 80 + 80 * 80,
    });
    // Narrower layers are cut as finely (12 MiB would allow 992 rows of 3136 features), wider ones
    // by bytes down to n / 12 rows
    expect(gramChunks(2000, 3136, 4)).toMatchObject({ rows: 240, count: 9 });
    expect(gramChunks(2000, 25_088, 4)).toMatchObject({ rows: 167, count: 12 });
    for (const [n, p] of [
      [1000, 50_000],
      [333, 9000],
      [5000, 3136],
    ] as const) {
      const { rows, count, blockEntries } = gramChunks(n, p, 4, { chunkBytes: 2 ** 20 });
      const sizes = Array.from({ length: count }, (_, a) => Math.min(rows, n - a * rows));
      expect(sizes.every((r) => r > 0) && sizes.reduce((a, b) => a + b) === n).toBe(true);
      let entries = 0;
      for (let a = 0; a < count; a++) for (let b = a; b < count; b++) entries += sizes[a]! * sizes[b]!;
      expect(blockEntries).toBe(entries);
    }
  });

  it('shifts far-off activations before the float32 product: the rounding is that of centred values', async () => {
    // rows of unit-scale variation 1000 away from the origin: uncentred float32 products would
    // carry ~p·10⁶ with an ulp of ~4, against centred entries of ~p/12
    const n = 300;
    const p = 24;
    const x64 = uniform(n * p, 6, 1000);
    const reference = centredGramReference(x64, n, p);
    const packed = new Float64Array(packedLength(n));
    await centredGramInto(Float32Array.from(x64), n, p, 'float32', packed, workspace, 1);
    const exact = materialiseCentred(centredView(packed, n, 'biased'));
    let maxError = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++)
        maxError = Math.max(maxError, Math.abs(exact[packedIndex(n, i, j)]! - reference[i * n + j]!));
    }
    // the inputs' own float32 rounding (1000 · 2⁻²⁴ ≈ 6e-5 per value) bounds what is left
    expect(maxError).toBeLessThan(2e-3);
  });

  it('centres in place only when the activations are scratch', async () => {
    const n = 40;
    const p = 6;
    const x = Float32Array.from(uniform(n * p, 5, 2));
    const original = Float32Array.from(x);
    const packed = new Float64Array(packedLength(n));
    await centredGramInto(x, n, p, 'float32', packed, workspace, 1);
    expect(x).toEqual(original);
    const kept = Float64Array.from(packed);
    await centredGramInto(x, n, p, 'float32', packed, workspace, 1, { overwrite: true });
    expect(packed).toEqual(kept);
    // now x holds the centred rows: every column sums to (about) zero
    for (let f = 0; f < p; f++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += x[i * p + f]!;
      expect(Math.abs(sum)).toBeLessThan(1e-4);
      expect(x[f]).toBe(
        Math.fround(original[f]! - Math.fround(original.reduce((s, v, e) => (e % p === f ? s + v : s), 0) / n)),
      );
    }
  });

  it('float64 activations can run a float32 Gram (and the reverse)', async () => {
    const n = 50;
    const p = 9;
    const x = uniform(n * p, 2);
    const reference = centredGramReference(x, n, p);
    for (const [input, precision] of [
      [x, 'float32'],
      [Float32Array.from(x), 'float64'],
    ] as const) {
      const packed = new Float64Array(packedLength(n));
      await centredGramInto(input, n, p, precision, packed, workspace, 1);
      expect(Math.abs(packed[packedIndex(n, 3, 40)]! - reference[3 * n + 40]!)).toBeLessThan(1e-5);
    }
  });

  it('flags constant layers and names the first non-finite activation', async () => {
    const n = 20;
    const p = 4;
    const packed = new Float64Array(packedLength(n));
    const constant = new Float32Array(n * p).fill(1.7);
    expect(await centredGramInto(constant, n, p, 'float32', packed, workspace, 1)).toEqual({
      constant: true,
      nonFinite: null,
    });
    const broken = Float32Array.from(uniform(n * p, 3, 5)); // offset: the centring would run, but not over a NaN/Inf
    broken[11 * p + 2] = Infinity;
    expect(
      (await centredGramInto(broken, n, p, 'float32', packed, workspace, 1, { overwrite: true })).nonFinite,
    ).toEqual({
      example: 11,
      feature: 2,
      value: Infinity,
    });
    const huge = Float32Array.from(uniform(n * p, 4)).map((v) => v * 1e30);
    expect((await centredGramInto(huge, n, p, 'float32', packed, workspace, 1)).nonFinite).toMatchObject({
      feature: -1,
    });
  });

  it('the stacked product over packed columns equals every pairwise tr(AB)', async () => {
    const n = 300;
    const grams: Float64Array[] = [];
    for (let l = 0; l < 4; l++) {
      const packed = new Float64Array(packedLength(n));
      await centredGramInto(uniform(n * 11, 10 + l), n, 11, 'float64', packed, workspace, 1);
      grams.push(packed);
    }
    const total = packedLength(n);
    // two ranges, as two threads would compute them
    const first = await stackedPackedProducts(grams, 0, 20_000, workspace, 1);
    const second = await stackedPackedProducts(grams, 20_000, total, workspace, 1);
    const products = first.map((v, e) => v + second[e]!);
    const summaries = grams.map((g) => kernelSummary(g, n));
    for (const mode of ['biased', 'unbiased'] as const) {
      const traces = centredTraces(products, summaries, mode);
      const views = grams.map((g) => centredView(g, n, mode));
      for (let a = 0; a < 4; a++) {
        for (let b = 0; b < 4; b++) {
          const reference = centredInnerProduct(views[a]!, views[b]!);
          expect(Math.abs(traces[a * 4 + b]! - reference)).toBeLessThan(1e-9 * Math.abs(reference) + 1e-9);
        }
      }
    }
  });
});
