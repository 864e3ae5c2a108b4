/**
 * app/engine/cka/reference.ts, the plain float64 transcription of the paper's demo, as an oracle:
 * first against the independent numpy fixtures (test/fixtures/cka/make_cka_fixtures.py), then the
 * engine (float64 Grams) against it on small random layers, for every exact measure, the feature
 * form and minibatch CKA.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cka,
  featureSpaceLinearCka,
  gramLinear,
  gramRbf,
  hsic,
  matrix,
  type Matrix,
} from '../../app/engine/cka/reference.js';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { readNpy, toFloat64 } from '../../app/engine/io/npy.js';
import { CkaEngine, type LayerSource, type Measure } from '../../app/engine/similarity/index.js';

const dir = fileURLToPath(new URL('../fixtures/cka/', import.meta.url));
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as {
  demo: Record<'linear' | 'linearFeatureSpace' | 'rbf0.5' | 'debiased', number>;
  wide: Record<string, number[][]> & { rows: string[]; cols: string[] };
  narrowSelf: Record<string, number[][]> & { rows: string[] };
};

/** Reference against numpy: same formulas, other summation order (numpy's pairwise sums, BLAS). */
const NUMPY_TOLERANCE = 1e-12;
/** Engine (float64 Grams, packed, stacked products, O(n) centring corrections) against reference. */
const ENGINE_TOLERANCE = 1e-10;

async function fixture(name: string): Promise<Matrix> {
  const array = await readNpy(`${dir}${name}.npy`);
  const [rows, cols] = array.header.shape;
  return matrix(rows!, cols!, toFloat64(array));
}

type PairFunction = (x: Matrix, y: Matrix) => number;

/** The fixtures' measures, written with the reference's functions (keys of expected.json). */
const referenceMeasures: Record<string, PairFunction> = {
  linear: (x, y) => cka(gramLinear(x), gramLinear(y)),
  linearFeatureSpace: featureSpaceLinearCka,
  'rbf0.5': (x, y) => cka(gramRbf(x, 0.5), gramRbf(y, 0.5)),
  rbf2: (x, y) => cka(gramRbf(x, 2), gramRbf(y, 2)),
  debiased: (x, y) => cka(gramLinear(x), gramLinear(y), true),
  debiasedRbf1: (x, y) => cka(gramRbf(x, 1), gramRbf(y, 1), true),
};

function expectClose(actual: number | null | undefined, reference: number, tolerance: number): void {
  expect(actual).toBeTypeOf('number');
  expect(Math.abs(actual! - reference)).toBeLessThanOrEqual(tolerance);
}

describe('reference.ts against the numpy fixtures', () => {
  it("gives the paper demo's values (linear, feature-space linear, RBF(0.5), debiased)", async () => {
    const [x, y] = await Promise.all([fixture('demo_x'), fixture('demo_y')]);
    for (const key of ['linear', 'linearFeatureSpace', 'rbf0.5', 'debiased'] as const) {
      expectClose(referenceMeasures[key]!(x, y), expected.demo[key], NUMPY_TOLERANCE);
    }
    expect(cka(gramLinear(x), gramLinear(y)).toFixed(5)).toBe('0.55761');
    expect(cka(gramRbf(x, 0.5), gramRbf(y, 0.5)).toFixed(5)).toBe('0.65483');
    expect(cka(gramLinear(x), gramLinear(y), true).toFixed(5)).toBe('0.51346');
  });

  it.each([
    ['wide', 'cols'],
    ['narrowSelf', 'rows'],
  ] as const)('gives every exact measure of the %s matrices', async (name, colsKey) => {
    const set = expected[name] as Record<string, number[][]> & Record<'rows' | 'cols', string[]>;
    const rows = await Promise.all(set.rows.map(fixture));
    const cols = await Promise.all(set[colsKey].map(fixture));
    for (const [key, measure] of Object.entries(referenceMeasures)) {
      rows.forEach((x, r) => cols.forEach((y, c) => expectClose(measure(x, y), set[key]![r]![c]!, NUMPY_TOLERANCE)));
    }
  });

  it("HSIC₁ through U-centring equals Song et al.'s estimator written term by term", async () => {
    const [x, y] = await Promise.all([fixture('demo_x'), fixture('demo_y')]);
    const k = gramLinear(x);
    const l = gramLinear(y);
    const n = k.rows;
    const zeroDiagonal = (m: Matrix) => {
      const out = matrix(n, n, m.data.slice());
      for (let i = 0; i < n; i++) out.data[i * n + i] = 0;
      return out;
    };
    const kt = zeroDiagonal(k);
    const lt = zeroDiagonal(l);
    let trace = 0;
    let sumK = 0;
    let sumL = 0;
    let rowProducts = 0;
    for (let i = 0; i < n; i++) {
      let rowK = 0;
      let rowL = 0;
      for (let j = 0; j < n; j++) {
        trace += kt.data[i * n + j]! * lt.data[j * n + i]!;
        rowK += kt.data[i * n + j]!;
        rowL += lt.data[i * n + j]!;
      }
      sumK += rowK;
      sumL += rowL;
      rowProducts += rowK * rowL; // 1ᵀK̃L̃1 = Σᵢ (K̃1)ᵢ (L̃1)ᵢ for symmetric K̃
    }
    const song = (trace + (sumK * sumL) / ((n - 1) * (n - 2)) - (2 / (n - 2)) * rowProducts) / (n * (n - 3));
    expect(Math.abs(hsic(k, l, true) - song)).toBeLessThanOrEqual(1e-12 * Math.abs(song));
  });
});

/** Small random layers: uniform values, some around 0 and some offset (the engine centres those). */
function randomLayer(n: number, p: number, seed: number, offset: number): { x: Matrix; source: LayerSource } {
  const rng = new Mulberry32(seed);
  const data = new Float64Array(n * p);
  for (let k = 0; k < data.length; k++) data[k] = rng.nextUint32() / 2 ** 32 - 0.5 + offset + (k % p) * 0.05;
  const name = `layer${seed}`;
  return { x: matrix(n, p, data), source: { kind: 'array', layer: { tensor: name, name }, data, n, features: p } };
}

describe('the engine (float64 Grams) against reference.ts on small random layers', () => {
  const engine = new CkaEngine({ threads: 2, precision: 'float64' });
  afterAll(() => engine.close());
  const n = 40;
  const rows = [randomLayer(n, 3, 1, 0), randomLayer(n, 25, 2, 4), randomLayer(n, 60, 3, 0)];
  const cols = [randomLayer(n, 7, 4, 10), randomLayer(n, 90, 5, 0)];
  // Make the layers depend on each other so the values are not all near 0.
  for (const { x } of cols) for (let k = 0; k < x.data.length; k++) x.data[k]! += rows[0]!.x.data[(k * 7) % (n * 3)]!;

  const exact: [Measure, PairFunction][] = [
    [{ name: 'linear' }, referenceMeasures.linear!],
    [{ name: 'rbf', threshold: 0.5 }, referenceMeasures['rbf0.5']!],
    [{ name: 'rbf', threshold: 2 }, referenceMeasures.rbf2!],
    [{ name: 'debiased' }, referenceMeasures.debiased!],
    [{ name: 'debiased', rbfThreshold: 1 }, referenceMeasures.debiasedRbf1!],
  ];

  function expectMatrix(result: (number | null)[][], measure: PairFunction): void {
    rows.forEach(({ x }, r) =>
      cols.forEach(({ x: y }, c) => expectClose(result[r]![c], measure(x, y), ENGINE_TOLERANCE)),
    );
  }

  it('linear, RBF and debiased (linear and RBF kernels) from Grams', async () => {
    const results = await engine.compare(
      rows.map((l) => l.source),
      cols.map((l) => l.source),
      exact.map(([m]) => m),
      { linearForm: 'gram' },
    );
    results.forEach((result, i) => {
      expect(result.form).toBe('gram');
      expectMatrix(result.matrix, exact[i]![1]);
    });
  });

  it('linear CKA in feature space', async () => {
    const [result] = await engine.compare(
      rows.map((l) => l.source),
      cols.map((l) => l.source),
      [{ name: 'linear' }],
      { linearForm: 'features' },
    );
    expect(result!.form).toBe('features');
    expectMatrix(result!.matrix, featureSpaceLinearCka);
  });

  it('minibatch CKA: Σ HSIC₁ over batches of b, normalised (Nguyen, Raghu & Kornblith 2021)', async () => {
    const b = 8;
    const [result] = await engine.compare(
      rows.map((l) => l.source),
      cols.map((l) => l.source),
      [{ name: 'minibatch', batchSize: b }],
    );
    const batch = (x: Matrix, t: number) => matrix(b, x.cols, x.data.slice(t * b * x.cols, (t + 1) * b * x.cols));
    const summed = (x: Matrix, y: Matrix) => {
      let sum = 0;
      for (let t = 0; t < n / b; t++) sum += hsic(gramLinear(batch(x, t)), gramLinear(batch(y, t)), true);
      return sum;
    };
    expect(result!.form).toBe('minibatch');
    expectMatrix(result!.matrix, (x, y) => summed(x, y) / Math.sqrt(summed(x, x) * summed(y, y)));
  });
});
