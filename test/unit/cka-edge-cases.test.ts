/**
 * Inputs where CKA is undefined or the request is wrong: constant layers, NaN/Inf activations,
 * too few examples, mismatched sides, p = 1, n = 2, the memory budget, cancellation — each gives a
 * typed error or a null cell with its reason, never a crash or a silent number.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../app/common/errors.js';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { CkaEngine, type CkaProgress, type LayerSource, type Measure } from '../../app/engine/similarity/index.js';

function uniform(length: number, seed: number): Float64Array {
  const rng = new Mulberry32(seed);
  return Float64Array.from({ length }, () => rng.nextUint32() / 2 ** 32 - 0.5);
}

const layer = (name: string, data: Float32Array | Float64Array, n: number, features: number): LayerSource => ({
  kind: 'array',
  layer: { tensor: `/${name}/output_0`, name },
  data,
  n,
  features,
});

async function rejection(promise: Promise<unknown>): Promise<WorkbenchError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkbenchError);
    return err as WorkbenchError;
  }
  throw new Error('expected the promise to reject');
}

const allMeasures: Measure[] = [
  { name: 'linear' },
  { name: 'rbf', threshold: 0.5 },
  { name: 'debiased' },
  { name: 'minibatch', batchSize: 10 },
];

describe('CKA edge cases', () => {
  const engine = new CkaEngine({ threads: 2 });
  afterAll(() => engine.close());
  const n = 40;
  const good = layer('good', uniform(n * 6, 1), n, 6);
  const other = layer('other', uniform(n * 5, 2), n, 5);

  /** Each measure's value for the pair `row` × `col` computed alone (the clean layers only). */
  async function alone(
    row: LayerSource,
    col: LayerSource,
    measures: Measure[],
    options: { linearForm?: 'gram' | 'features' } = {},
  ): Promise<number[]> {
    const results = await engine.compare([row], [col], measures, options);
    return results.map((r) => {
      expect(r.undefined).toEqual([]);
      return r.matrix[0]![0]!;
    });
  }

  /** A defined cell equal (to 1e-12) to the same pair computed alone. */
  function expectAlone(value: number | null | undefined, reference: number): void {
    expect(value).not.toBeNull();
    expect(Number.isFinite(reference)).toBe(true);
    expect(Math.abs(value! - reference)).toBeLessThanOrEqual(1e-12);
  }

  it('a constant layer gives null cells with the reason, other cells stay numbers', async () => {
    const constant = layer('dead_relu', new Float32Array(n * 8).fill(0.25), n, 8);
    for (const form of ['gram', 'features'] as const) {
      const measures: Measure[] = form === 'gram' ? allMeasures : [{ name: 'linear' }];
      const results = await engine.compare([good, constant], [other], measures, { linearForm: form });
      const reference = await alone(good, other, measures, { linearForm: form });
      for (const [i, r] of results.entries()) {
        expectAlone(r.matrix[0]![0], reference[i]!);
        expect(r.matrix[1]![0]).toBeNull();
        expect(r.undefined).toEqual([
          { row: 1, col: 0, reason: expect.stringMatching(/layer 'dead_relu' is constant .*zero variance/) },
        ]);
      }
    }
  });

  it('NaN and Inf activations give null cells naming the layer, example and feature', async () => {
    const withNaN = uniform(n * 6, 3);
    withNaN[17 * 6 + 4] = NaN;
    const withInf = Float32Array.from(uniform(n * 5, 4));
    withInf[3 * 5 + 1] = -Infinity;
    const results = await engine.compare(
      [layer('nan_layer', withNaN, n, 6), good],
      [layer('inf_layer', withInf, n, 5), other],
      allMeasures,
      {
        linearForm: 'gram',
      },
    );
    const reference = await alone(good, other, allMeasures, { linearForm: 'gram' });
    for (const [i, r] of results.entries()) {
      expectAlone(r.matrix[1]![1], reference[i]!);
      expect(r.matrix[0]![0]).toBeNull();
      expect(r.matrix[0]![1]).toBeNull();
      expect(r.matrix[1]![0]).toBeNull();
      const reasons = r.undefined.map((u) => u.reason).join('\n');
      expect(reasons).toMatch(/layer 'nan_layer' has non-finite activations \(NaN at example 17, feature 4\)/);
      expect(reasons).toMatch(/layer 'inf_layer' has non-finite activations \(-Infinity at example 3, feature 1\)/);
    }
  });

  it('debiased and minibatch CKA refuse fewer than 4 examples', async () => {
    const tiny = layer('tiny', uniform(3 * 4, 5), 3, 4);
    const tinyOther = layer('tiny_other', uniform(3 * 2, 6), 3, 2);
    const debiased = await rejection(engine.compare([tiny], [tinyOther], [{ name: 'debiased' }]));
    expect(debiased.code).toBe('BAD_INPUT');
    expect(debiased.message).toMatch(/at least 4 examples.*n = 3/);
    const minibatch = await rejection(engine.compare([tiny], [tinyOther], [{ name: 'minibatch', batchSize: 4 }]));
    expect(minibatch.code).toBe('BAD_INPUT');
    expect(minibatch.message).toMatch(/needs at least 4 examples, got n = 3/);
    const smallBatch = await rejection(engine.compare([good], [other], [{ name: 'minibatch', batchSize: 3 }]));
    expect(smallBatch.message).toMatch(/batch size of at least 4/);
  });

  it('mismatched n between the sides is a BAD_INPUT error naming both layers', async () => {
    const shorter = layer('shorter', uniform(39 * 5, 7), 39, 5);
    for (const measure of allMeasures) {
      const err = await rejection(engine.compare([good], [shorter], [measure]));
      expect(err.code).toBe('BAD_INPUT');
      expect(err.message).toMatch(
        /mismatched number of examples: column layer 'shorter' has n = 39, row layer 'good' has n = 40/,
      );
    }
  });

  it('a data length that does not match n × features is refused', async () => {
    const err = await rejection(engine.compare([layer('bad', new Float32Array(10), 3, 4)], null, [{ name: 'linear' }]));
    expect(err.message).toMatch(/10 values do not make 3 examples × 4 features/);
  });

  it('p = 1: linear CKA is the squared Pearson correlation', async () => {
    const x = uniform(n, 8);
    const y = x.map((v, i) => v + 0.3 * Math.sin(i));
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const mx = mean(x);
    const my = mean(y);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      sxy += (x[i]! - mx) * (y[i]! - my);
      sxx += (x[i]! - mx) ** 2;
      syy += (y[i]! - my) ** 2;
    }
    for (const linearForm of ['gram', 'features'] as const) {
      const [r] = await engine.compare([layer('x', x, n, 1)], [layer('y', y, n, 1)], [{ name: 'linear' }], {
        linearForm,
      });
      expect(r!.matrix[0]![0]).toBeCloseTo((sxy * sxy) / (sxx * syy), 10);
    }
  });

  it('n = 2: linear and RBF CKA are 1 (two points are always alignable); debiased CKA is refused', async () => {
    const a = layer('a', Float64Array.from([0.1, 2, -1, 0.5, 0.3, 0.2]), 2, 3);
    const b = layer('b', Float64Array.from([5, -4]), 2, 1);
    const [linear, rbf] = await engine.compare([a], [b], [{ name: 'linear' }, { name: 'rbf', threshold: 1 }], {
      linearForm: 'gram',
    });
    expect(linear!.matrix[0]![0]).toBeCloseTo(1, 12);
    expect(rbf!.matrix[0]![0]).toBeCloseTo(1, 12);
    await expect(engine.compare([a], [b], [{ name: 'debiased' }])).rejects.toThrow(/at least 4 examples/);
  });

  it('an RBF kernel whose median distance is 0 is undefined, with the reason', async () => {
    // 30 of 40 examples identical: more than half of all pairs have distance 0.
    const data = uniform(n * 3, 9);
    for (let i = 0; i < 30; i++) data.set([1, 2, 3], i * 3);
    const [rbf, linear] = await engine.compare(
      [layer('mostly_same', data, n, 3)],
      [good],
      [{ name: 'rbf', threshold: 1 }, { name: 'linear' }],
      {
        linearForm: 'gram',
      },
    );
    expect(rbf!.matrix[0]![0]).toBeNull();
    expect(rbf!.undefined[0]!.reason).toMatch(/median squared distance between examples is 0/);
    const [reference] = await alone(layer('mostly_same', data, n, 3), good, [{ name: 'linear' }], {
      linearForm: 'gram',
    });
    expectAlone(linear!.matrix[0]![0], reference!);
  });

  it('exceeding the memory budget is an OUT_OF_MEMORY error suggesting minibatch CKA', async () => {
    const small = new CkaEngine({ threads: 1, memoryBudgetBytes: 64 * 1024 });
    try {
      const err = await rejection(small.compare([good], [other], [{ name: 'rbf', threshold: 1 }]));
      expect(err.code).toBe('OUT_OF_MEMORY');
      expect(err.message).toMatch(/over the memory budget of .*use minibatch CKA/);
      // minibatch CKA is not held to the exact-mode budget
      const [mb] = await small.compare([good], [other], [{ name: 'minibatch', batchSize: 10 }]);
      const [reference] = await alone(good, other, [{ name: 'minibatch', batchSize: 10 }]);
      expectAlone(mb!.matrix[0]![0], reference!);
    } finally {
      await small.close();
    }
  });

  it('reports progress and stops with CANCELLED when aborted, then keeps working', async () => {
    const [before] = await alone(good, other, [{ name: 'rbf', threshold: 1 }]);
    const size = 400;
    const sources = Array.from({ length: 6 }, (_, i) => layer(`l${i}`, uniform(size * 300, 20 + i), size, 300));
    const controller = new AbortController();
    const seen: CkaProgress[] = [];
    const err = await rejection(
      engine.compare(sources, null, [{ name: 'linear' }, { name: 'rbf', threshold: 1 }], {
        linearForm: 'gram',
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p);
          controller.abort();
        },
      }),
    );
    expect(err.code).toBe('CANCELLED');
    expect(seen[0]).toMatchObject({ stage: 'grams', done: 1, total: 6 });
    const stages: string[] = [];
    const [again] = await engine.compare([good], [other], [{ name: 'rbf', threshold: 1 }], {
      onProgress: (p) => stages.push(p.stage),
    });
    // The same number as before the cancelled work.
    expectAlone(again!.matrix[0]![0], before!);
    expect(new Set(stages)).toEqual(new Set(['grams', 'kernels', 'hsic']));
  });
});
