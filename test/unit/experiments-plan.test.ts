/** Specs, the planner's pairs and steps, and the matrix bookkeeping (blocks of a many-pair result, transposes). */
import { describe, expect, it } from 'vitest';
import type { ExperimentSpec } from '../../app/common/contract.js';
import type { CkaResult } from '../../app/engine/similarity/index.js';
import { similarityMatrix, sliceResult, transposeMatrix } from '../../app/engine/experiments/matrices.js';
import { layerFeatures, pairsOf, planExperiment } from '../../app/engine/experiments/plan.js';
import type { PreparedModel } from '../../app/engine/experiments/prepare-models.js';
import { parseExperimentSpec } from '../../app/engine/experiments/spec.js';
import { specPaths } from '../../app/engine/experiments/spec-paths.js';

const base: ExperimentSpec = {
  name: 'x',
  kind: 'family',
  models: [{ path: '/a.onnx' }, { path: '/b.onnx' }, { path: '/c.onnx' }],
  probe: 'fashion-mnist:100',
  layers: 'op:Relu',
  measures: ['linear', 'minibatch:10', 'rbf:0.5'],
};

function model(index: number, layers: number): PreparedModel {
  return {
    index,
    path: `/${index}.onnx`,
    label: `m${index}`,
    sha256: String(index).repeat(64),
    fileSha256: String(index).repeat(64),
    selection: 'all',
    layers: Array.from({ length: layers }, (_, i) => ({
      tensor: `t${i}`,
      name: `l${i}`,
      op: 'Relu',
      dtype: 'float32',
      shape: ['batch', 4, 2, 2],
      reduction: 'flatten' as const,
      key: `t${i}`,
      rows: 100,
      features: 16,
    })),
    omitted: [],
    outputs: new Set(),
    probe: { spec: 'fashion-mnist:100', hash: 'h', n: 100 },
    probeSpec: 'fashion-mnist:100',
  };
}

describe('experiment specs', () => {
  it('accepts each kind with its number of models and normalises sha256 to lower case', () => {
    const sha = 'AB'.repeat(32);
    const spec = parseExperimentSpec({ ...base, models: [{ path: '/a.onnx', sha256: sha }], kind: 'self' });
    expect(spec.models[0]!.sha256).toBe(sha.toLowerCase());
    expect(() => parseExperimentSpec({ ...base, kind: 'seeds', models: [{ path: '/a' }] })).toThrow(
      /a seeds experiment takes at least 2 models/,
    );
    expect(() => parseExperimentSpec({ ...base, kind: 'self' })).toThrow(
      /a self experiment takes exactly 1 model, got 3/,
    );
  });

  it('names the problem and where it is', () => {
    expect(() => parseExperimentSpec({ ...base, measures: ['linear', 'linear'] }, 'S.json')).toThrow(
      'invalid S.json: measures: a measure is listed twice',
    );
    expect(() => parseExperimentSpec({ ...base, measures: ['minibatch:2'] })).toThrow(
      /batch size must be an integer ≥ 4/,
    );
    expect(() => parseExperimentSpec({ ...base, options: { threads: 0 } })).toThrow(/options\.threads/);
    expect(() => parseExperimentSpec({ ...base, name: '  ' })).toThrow(/name: an experiment needs a name/);
    expect(() => parseExperimentSpec({ ...base, models: [{ path: 'a\0b' }, ...base.models.slice(1)] })).toThrow(
      /models\.0\.path: the path contains a NUL byte/,
    );
  });

  it("lists the paths a spec reads: models, probes (a model's own view too) and tokenizers", () => {
    expect(specPaths({ ...base, probe: 'images:/data/photos?size=32' })).toEqual({
      models: ['/a.onnx', '/b.onnx', '/c.onnx'],
      probes: [{ path: '/data/photos', kind: 'dir' }],
      tokenizers: [],
    });
    expect(specPaths({ ...base, probe: 'npz:/d/x.npz:images' }).probes).toEqual([{ path: '/d/x.npz', kind: 'file' }]);
    expect(specPaths(base).probes).toEqual([]);
    const views = specPaths({
      ...base,
      models: [
        { path: '/a.onnx', probe: 'text:/t/s.txt?tokenizer=/t/bpe.json' },
        { path: '/b.onnx', tokenizer: '/t/wp.json' },
        { path: '/c.onnx' },
      ],
    });
    expect(views.probes).toEqual([{ path: '/t/s.txt', kind: 'file' }]);
    expect(views.tokenizers).toEqual(['/t/wp.json', '/t/bpe.json']);
  });
});

describe('the planner', () => {
  it('pairs each kind needs', () => {
    const key = (kind: ExperimentSpec['kind'], k: number) =>
      pairsOf(kind, k).map((p) => `${p.row}${p.col}${p.mirrored ? '+' : ''}`);
    expect(key('pair', 2)).toEqual(['01']);
    expect(key('self', 1)).toEqual(['00']);
    expect(key('seeds', 3)).toEqual(['01+', '02+', '12+']);
    expect(key('family', 3)).toEqual(['00', '01', '11', '02', '12', '22']);
  });

  it('goes model by model, each step comparing the pairs its model completes; minibatch needs no Grams', () => {
    const plan = planExperiment(base, [model(0, 2), model(1, 3), model(2, 1)]);
    expect(plan.steps.map((s) => s.pairs.map((p) => `${p.row}${p.col}`))).toEqual([
      ['00'],
      ['01', '11'],
      ['02', '12', '22'],
    ]);
    expect(plan.exact.map((m) => m.text)).toEqual(['linear', 'rbf:0.5']);
    expect(plan.minibatch.map((m) => m.measure)).toEqual([{ name: 'minibatch', batchSize: 10 }]);
    expect(plan.needsGrams).toBe(true);
    expect(plan.totalEstimate).toBeGreaterThan(0);
    const onlyMinibatch = planExperiment({ ...base, measures: ['minibatch:10'] }, [
      model(0, 2),
      model(1, 3),
      model(2, 1),
    ]);
    expect(onlyMinibatch.needsGrams).toBe(false);
    expect(onlyMinibatch.steps.every((s) => s.estimate.grams === 0)).toBe(true);
  });

  it('counts features from shapes, unknown dimensions as a guess', () => {
    expect(layerFeatures(['batch', 16, 28, 28])).toBe(12544);
    expect(layerFeatures([null, 10])).toBe(10);
    expect(layerFeatures(null)).toBe(1000);
  });
});

describe('matrices of a result', () => {
  const result: CkaResult = {
    measure: { name: 'linear', params: {} },
    n: 10,
    rows: ['r0', 'r1', 'r2'].map((t) => ({ tensor: t, name: t })),
    cols: ['c0', 'c1'].map((t) => ({ tensor: t, name: t })),
    matrix: [
      [1, 2],
      [3, null],
      [5, 6],
    ],
    undefined: [{ row: 1, col: 1, reason: 'constant' }],
    form: 'gram',
    timings: {},
  };

  it('cuts one pair out of a many-pair result, undefined cells renumbered', () => {
    const block = sliceResult(result, [1, 3], [1, 2]);
    expect(block.rows.map((l) => l.tensor)).toEqual(['r1', 'r2']);
    expect(block.cols.map((l) => l.tensor)).toEqual(['c1']);
    expect(block.matrix).toEqual([[null], [6]]);
    expect(block.undefined).toEqual([{ row: 0, col: 0, reason: 'constant' }]);
  });

  it('transposes a matrix with its sides, undefined cells and intervals', () => {
    const m = similarityMatrix(
      {
        ...result,
        ci: {
          method: 'bias-corrected percentile bootstrap',
          samples: 5,
          seed: 1,
          level: 0.9,
          resampled: 'examples',
          lo: result.matrix,
          hi: result.matrix,
          percentile: { lo: result.matrix, hi: result.matrix },
          bias: result.matrix,
        },
      },
      { model: 0, label: 'A' },
      { model: 1, label: 'B' },
    );
    const t = transposeMatrix(m);
    expect(t.rows).toEqual(m.cols);
    expect(t.cols).toEqual(m.rows);
    expect(t.matrix).toEqual([
      [1, 3, 5],
      [2, null, 6],
    ]);
    expect(t.undefined).toEqual([{ row: 1, col: 1, reason: 'constant' }]);
    expect(t.ci!.lo).toEqual(t.matrix);
    expect(t.ci).toMatchObject({ level: 0.9, samples: 5, seed: 1 });
    expect(transposeMatrix(t)).toEqual(m);
  });
});
