/**
 * The CKA core against an independent float64 numpy implementation (test/fixtures/cka/
 * make_cka_fixtures.py: per-pair Grams, the demo notebook's centring, Song et al.'s HSIC₁ written
 * term by term, bootstrap by gathering K[idx][:, idx]) and against the paper demo's printed values.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CkaEngine, type CkaResult, type LayerSource, type Measure } from '../../app/engine/similarity/index.js';

const dir = fileURLToPath(new URL('../fixtures/cka/', import.meta.url));

interface MinibatchExpectation {
  matrix: number[][];
  batches: number;
  dropped: number;
}
interface Interval {
  lo: number[][];
  hi: number[][];
  percentileLo: number[][];
  percentileHi: number[][];
  bias: number[][];
}
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as {
  demo: Record<'linear' | 'linearFeatureSpace' | 'rbf0.5' | 'debiased', number>;
  wide: Record<string, unknown> & {
    n: number;
    rows: string[];
    cols: string[];
    bootstrap: { samples: number; seed: number; level: number } & Record<'linear' | 'debiased' | 'rbf0.5', Interval>;
  };
  narrowSelf: Record<string, unknown> & { n: number; rows: string[] };
};

const npy = (name: string): LayerSource => ({ kind: 'npy', layer: { tensor: name, name }, path: `${dir}${name}.npy` });

function expectMatrix(actual: (number | null)[][], reference: number[][], tolerance: number): void {
  expect(actual.length).toBe(reference.length);
  actual.forEach((row, r) => {
    expect(row.length).toBe(reference[r]!.length);
    row.forEach((value, c) => {
      expect(value).not.toBeNull();
      expect(Math.abs(value! - reference[r]![c]!)).toBeLessThanOrEqual(tolerance);
    });
  });
}

const exactMeasures: [string, Measure][] = [
  ['linear', { name: 'linear' }],
  ['rbf0.5', { name: 'rbf', threshold: 0.5 }],
  ['rbf2', { name: 'rbf', threshold: 2 }],
  ['debiased', { name: 'debiased' }],
  ['debiasedRbf1', { name: 'debiased', rbfThreshold: 1 }],
];

describe.each([
  ['float64', 1e-12],
  ['float32', 1e-6],
] as const)('CKA core with %s Grams against the float64 numpy reference', (precision, tolerance) => {
  const engine = new CkaEngine({ threads: 2, precision });
  afterAll(() => engine.close());

  it("reproduces the paper demo's check values (linear 0.55761, RBF(0.5) 0.65483, debiased 0.51346)", async () => {
    const results = await engine.compare(
      [npy('demo_x')],
      [npy('demo_y')],
      [{ name: 'linear' }, { name: 'rbf', threshold: 0.5 }, { name: 'debiased' }],
      { linearForm: 'gram' },
    );
    const [linear, rbf, debiased] = results.map((r) => r.matrix[0]![0]!);
    expect(linear!.toFixed(5)).toBe('0.55761');
    expect(rbf!.toFixed(5)).toBe('0.65483');
    expect(debiased!.toFixed(5)).toBe('0.51346');
    expect(Math.abs(linear! - expected.demo.linear)).toBeLessThan(tolerance);
    expect(Math.abs(rbf! - expected.demo['rbf0.5'])).toBeLessThan(tolerance);
    expect(Math.abs(debiased! - expected.demo.debiased)).toBeLessThan(tolerance);
    const [features] = await engine.compare([npy('demo_x')], [npy('demo_y')], [{ name: 'linear' }], {
      linearForm: 'features',
    });
    expect(features!.form).toBe('features');
    expect(Math.abs(features!.matrix[0]![0]! - expected.demo.linearFeatureSpace)).toBeLessThan(tolerance);
  });

  it('matches every exact measure on conv-like activations with p ≫ n (n = 36, p = 288)', async () => {
    const results = await engine.compare(
      expected.wide.rows.map(npy),
      expected.wide.cols.map(npy),
      exactMeasures.map(([, m]) => m),
    );
    results.forEach((result, i) => {
      expect(result.form).toBe('gram');
      expect(result.n).toBe(36);
      expectMatrix(result.matrix, expected.wide[exactMeasures[i]![0]] as number[][], tolerance);
    });
  });

  it('matches every exact measure on narrow activations, p ≪ n, a side against itself (n = 120, p = 3..7)', async () => {
    const sources = expected.narrowSelf.rows.map(npy);
    const results = await engine.compare(
      sources,
      null,
      exactMeasures.map(([, m]) => m),
      { linearForm: 'gram' },
    );
    results.forEach((result, i) =>
      expectMatrix(result.matrix, expected.narrowSelf[exactMeasures[i]![0]] as number[][], tolerance),
    );
    const [features] = await engine.compare(sources, null, [{ name: 'linear' }]);
    expect(features!.form).toBe('features');
    expectMatrix(features!.matrix, expected.narrowSelf.linearFeatureSpace as number[][], tolerance);
  });

  it('matches minibatch CKA in probe order and in a seeded shuffled order, with the partial batch dropped', async () => {
    const rows = expected.wide.rows.map(npy);
    const cols = expected.wide.cols.map(npy);
    const cases: [string, Measure][] = [
      ['minibatch8', { name: 'minibatch', batchSize: 8 }],
      ['minibatch10', { name: 'minibatch', batchSize: 10 }],
      ['minibatch8Shuffled7', { name: 'minibatch', batchSize: 8, shuffleSeed: 7 }],
      ['minibatch10Shuffled7', { name: 'minibatch', batchSize: 10, shuffleSeed: 7 }],
    ];
    const results = await engine.compare(
      rows,
      cols,
      cases.map(([, m]) => m),
    );
    results.forEach((result: CkaResult, i) => {
      const reference = expected.wide[cases[i]![0]] as MinibatchExpectation;
      expect(result.form).toBe('minibatch');
      expect(result.batches?.count).toBe(reference.batches);
      expect(result.batches?.droppedExamples).toBe(reference.dropped);
      expect(result.measure.params.droppedExamples).toBe(reference.dropped);
      expectMatrix(result.matrix, reference.matrix, tolerance);
    });
    const [narrow] = await engine.compare(expected.narrowSelf.rows.map(npy), null, [
      { name: 'minibatch', batchSize: 16 },
    ]);
    expectMatrix(narrow!.matrix, (expected.narrowSelf.minibatch16 as MinibatchExpectation).matrix, tolerance);
  });

  it('matches bootstrap intervals (plain and recentred percentile) computed by gathering resampled kernels', async () => {
    const { samples, seed, level } = expected.wide.bootstrap;
    const results = await engine.compare(
      expected.wide.rows.map(npy),
      expected.wide.cols.map(npy),
      [{ name: 'linear' }, { name: 'debiased' }, { name: 'rbf', threshold: 0.5 }],
      { bootstrap: { samples, seed, level } },
    );
    (['linear', 'debiased', 'rbf0.5'] as const).forEach((key, i) => {
      const ci = results[i]!.ci!;
      expect(ci.samples).toBe(samples);
      expect(ci.level).toBe(level);
      expect(ci.resampled).toBe('examples');
      const reference = expected.wide.bootstrap[key];
      expectMatrix(ci.percentile.lo, reference.percentileLo, tolerance);
      expectMatrix(ci.percentile.hi, reference.percentileHi, tolerance);
      expectMatrix(ci.bias, reference.bias, tolerance);
      expectMatrix(ci.lo, reference.lo, tolerance);
      expectMatrix(ci.hi, reference.hi, tolerance);
    });
  });
});
