/**
 * Properties CKA must have (Kornblith et al. 2019, §3): invariance to orthogonal transforms and
 * isotropic scaling, but not to general invertible linear maps; symmetry; self-similarity 1;
 * minibatch CKA with one batch is debiased CKA; bootstrap intervals cover the estimate and narrow
 * as n grows.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { CkaEngine, type LayerSource, type Measure } from '../../app/engine/similarity/index.js';

function gaussian(rng: Mulberry32): () => number {
  return () => {
    const u = (rng.nextUint32() + 1) / 2 ** 32;
    const v = rng.nextUint32() / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const g = gaussian(new Mulberry32(seed));
  return Float64Array.from({ length: rows * cols }, g);
}

/** A [rows, inner] × B [inner, cols]. */
function multiply(a: Float64Array, b: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let l = 0; l < inner; l++)
      for (let j = 0; j < cols; j++) out[i * cols + j]! += a[i * inner + l]! * b[l * cols + j]!;
  return out;
}

/** A random orthogonal p×p matrix (Gram–Schmidt on a Gaussian matrix). */
function randomOrthogonal(p: number, seed: number): Float64Array {
  const m = randomMatrix(p, p, seed);
  for (let c = 0; c < p; c++) {
    for (let prev = 0; prev < c; prev++) {
      let dot = 0;
      for (let r = 0; r < p; r++) dot += m[r * p + c]! * m[r * p + prev]!;
      for (let r = 0; r < p; r++) m[r * p + c]! -= dot * m[r * p + prev]!;
    }
    let norm = 0;
    for (let r = 0; r < p; r++) norm += m[r * p + c]! ** 2;
    for (let r = 0; r < p; r++) m[r * p + c]! /= Math.sqrt(norm);
  }
  return m;
}

const layer = (name: string, data: Float64Array, n: number, features: number): LayerSource => ({
  kind: 'array',
  layer: { tensor: name, name },
  data,
  n,
  features,
});

const measures: Measure[] = [
  { name: 'linear' },
  { name: 'rbf', threshold: 0.5 },
  { name: 'rbf', threshold: 1 },
  { name: 'debiased' },
];

describe('CKA properties', () => {
  const engine = new CkaEngine({ threads: 2, precision: 'float64' });
  afterAll(() => engine.close());
  const n = 60;
  const p = 20;
  const x = randomMatrix(n, p, 1);

  it('is invariant to orthogonal transforms and isotropic scaling: CKA(X, c·XQ) = 1 for every measure', async () => {
    const transformed = multiply(x, randomOrthogonal(p, 2), n, p, p).map((v) => 3.7 * v);
    const results = await engine.compare([layer('X', x, n, p)], [layer('cXQ', transformed, n, p)], measures, {
      linearForm: 'gram',
    });
    for (const r of results) expect(Math.abs(r.matrix[0]![0]! - 1)).toBeLessThan(1e-12);
    const [features] = await engine.compare(
      [layer('X', x, n, p)],
      [layer('cXQ', transformed, n, p)],
      [{ name: 'linear' }],
      { linearForm: 'features' },
    );
    expect(Math.abs(features!.matrix[0]![0]! - 1)).toBeLessThan(1e-12);
  });

  it('is not invariant to a general invertible linear map', async () => {
    // A = Q·diag(1..30 on a log scale)·Q': invertible, far from a multiple of an orthogonal matrix.
    const scales = Float64Array.from({ length: p }, (_, i) => 30 ** (i / (p - 1)));
    const q1 = randomOrthogonal(p, 3);
    const q2 = randomOrthogonal(p, 4);
    const scaled = q1.map((v, e) => v * scales[e % p]!);
    const a = multiply(scaled, q2, p, p, p);
    const mapped = multiply(x, a, n, p, p);
    const results = await engine.compare([layer('X', x, n, p)], [layer('XA', mapped, n, p)], measures, {
      linearForm: 'gram',
    });
    for (const r of results) expect(1 - r.matrix[0]![0]!).toBeGreaterThan(0.05);
  });

  it('is symmetric and has self-similarity 1', async () => {
    const y = randomMatrix(n, 7, 5).map((v, e) => v + 0.5 * x[Math.floor(e / 7) * p + (e % 7)]!);
    const z = randomMatrix(n, 33, 6);
    const sources = [layer('X', x, n, p), layer('Y', y, n, 7), layer('Z', z, n, 33)];
    const forward = await engine.compare(sources, null, measures, { linearForm: 'gram' });
    for (const r of forward) {
      for (let i = 0; i < 3; i++) {
        expect(r.matrix[i]![i]).toBeCloseTo(1, 14);
        for (let j = 0; j < 3; j++) expect(r.matrix[i]![j]).toBeCloseTo(r.matrix[j]![i]!, 14);
      }
    }
    const swapped = await engine.compare([sources[2]!, sources[0]!], [sources[1]!], measures, { linearForm: 'gram' });
    const straight = await engine.compare([sources[1]!], [sources[2]!, sources[0]!], measures, { linearForm: 'gram' });
    swapped.forEach((r, m) => {
      expect(r.matrix[0]![0]).toBeCloseTo(straight[m]!.matrix[0]![0]!, 14);
      expect(r.matrix[1]![0]).toBeCloseTo(straight[m]!.matrix[0]![1]!, 14);
    });
  });

  it('minibatch CKA with one batch equals debiased CKA', async () => {
    const y = randomMatrix(n, 9, 7).map((v, e) => v + x[Math.floor(e / 9) * p + (e % 9)]!);
    const [debiased, oneBatch] = await engine.compare(
      [layer('X', x, n, p)],
      [layer('Y', y, n, 9)],
      [{ name: 'debiased' }, { name: 'minibatch', batchSize: n }],
    );
    expect(oneBatch!.batches).toEqual({ count: 1, size: n, droppedExamples: 0 });
    expect(oneBatch!.matrix[0]![0]).toBeCloseTo(debiased!.matrix[0]![0]!, 12);
  });

  // Resampling with replacement duplicates examples, which lifts resampled CKA (debiased CKA's
  // resamples even centre on the biased value): the plain percentile interval can miss the
  // estimate at small n, the recentred one (ci.lo/hi) is centred on it.
  it('bootstrap intervals contain the estimate and shrink as n grows', async () => {
    const widths: number[] = [];
    for (const size of [60, 480]) {
      const a = randomMatrix(size, 12, 8);
      const b = randomMatrix(size, 12, 9).map((v, e) => 0.8 * v + a[e]!);
      const results = await engine.compare(
        [layer('A', a, size, 12)],
        [layer('B', b, size, 12)],
        [{ name: 'linear' }, { name: 'debiased' }],
        { bootstrap: { samples: 200, seed: 1 } },
      );
      for (const r of results) {
        const estimate = r.matrix[0]![0]!;
        expect(r.ci!.lo[0]![0]!).toBeLessThan(estimate);
        expect(r.ci!.hi[0]![0]!).toBeGreaterThan(estimate);
        // the shift between the two intervals is the bootstrap bias estimate
        expect(r.ci!.percentile.lo[0]![0]! - r.ci!.lo[0]![0]!).toBeCloseTo(r.ci!.bias[0]![0]!, 12);
      }
      // at the small size the plain debiased interval does not even contain the estimate
      if (size === 60) expect(results[1]!.ci!.percentile.lo[0]![0]!).toBeGreaterThan(results[1]!.matrix[0]![0]!);
      widths.push(results[1]!.ci!.hi[0]![0]! - results[1]!.ci!.lo[0]![0]!);
    }
    // Width ∝ 1/√n: 8× the examples should give roughly a third of the width.
    expect(widths[1]!).toBeLessThan(widths[0]! * 0.6);
  });
});
