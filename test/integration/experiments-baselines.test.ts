/**
 * The baselines in the experiment kinds beyond seeds (the browser test runs seeds): a self run's
 * diagonal is what the definitions force (regression of a layer on itself R² = 1, Procrustes of a
 * layer with itself 1), a family run stores an asymmetric measure's other direction as computed —
 * the same numbers a pair run with the models swapped gives (from the factors the family run
 * cached), not the transpose — and a spec asking
 * for bootstrap intervals of a baseline is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentSpec, SimilarityMatrix } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { removeTempDataDirs, runSpec, tempDataDir, zoo } from '../helpers/experiments.js';

let api: Workbench;
beforeAll(() => {
  api = createWorkbench({ dataDir: tempDataDir('ckawb-baselines-'), threads: 2 });
});
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

const base = { probe: 'fashion-mnist:100', layers: 'preset:blocks' } as const;
const d1 = zoo('plain-d1-s0');
const d2 = zoo('plain-d2-s0');
const find = (matrices: SimilarityMatrix[], name: string, row: number, col: number) =>
  matrices.find((m) => m.measure.name === name && m.rows.model === row && m.cols.model === col);

describe('baselines in self and family runs', () => {
  it('self: R² of a layer on itself is 1 where defined, Procrustes of a layer with itself 1', async () => {
    const spec: ExperimentSpec = {
      ...base,
      name: 'self',
      kind: 'self',
      models: [{ path: d1 }],
      measures: ['linreg', 'procrustes'],
    };
    const { run, result } = await runSpec(api, spec);
    expect(run.status).toBe('done');
    const [linreg, procrustes] = result!.matrices;
    // the engine's exports: empty CSV cells and NaN in the .npy where undefined, the measure in the SVG's title
    const csv = await api.exportRun({ runId: run.id, format: 'csv', matrix: 0 });
    const lines = csv.data.trim().split('\n');
    expect(lines[1]!.split(',').slice(1)).toEqual(['', '', '', '', '']);
    expect(Number(lines[4]!.split(',')[4])).toBe(linreg!.matrix[3]![3]);
    const svg = await api.exportRun({ runId: run.id, format: 'svg', matrix: 1 });
    expect(svg.data).toContain('Procrustes · 100 examples');
    const names = linreg!.rows.layers.map((l) => l.name);
    expect(names).toEqual(['stage1.block0.relu', 'stage2.block0.relu', 'stage3.block0.relu', 'gap', 'head']);
    names.forEach((_, i) => expect(procrustes!.matrix[i]![i]!).toBeCloseTo(1, 10));
    // X = the row layer: the ReLU maps (≥ 3136 features, 100 examples) cannot be regressed on
    for (const i of [3, 4]) expect(linreg!.matrix[i]![i]!).toBeCloseTo(1, 10);
    for (const i of [0, 1, 2]) {
      expect(linreg!.matrix[i]!.every((v) => v === null)).toBe(true);
      expect(linreg!.undefined.find((u) => u.row === i)!.reason).toMatch(/^too-few-examples: X \(layer /);
    }
    expect(linreg!.matrix[3]!.every((v) => v !== null && v > 0 && v <= 1 + 1e-12)).toBe(true);
  });

  it('family: the asymmetric measure both ways, as a swapped pair run computes it', async () => {
    const family: ExperimentSpec = {
      ...base,
      name: 'family',
      kind: 'family',
      models: [{ path: d1 }, { path: d2 }],
      measures: ['linreg', 'procrustes'],
    };
    const { result } = await runSpec(api, family);
    const matrices = result!.matrices;
    expect(matrices.filter((m) => m.measure.name === 'procrustes').map((m) => [m.rows.model, m.cols.model])).toEqual([
      [0, 0],
      [0, 1],
      [1, 1],
    ]);
    const forward = find(matrices, 'linreg', 0, 1)!;
    const backward = find(matrices, 'linreg', 1, 0)!;
    expect(backward).toBeDefined();
    const swapped: ExperimentSpec = { ...family, name: 'swapped', kind: 'pair', models: [{ path: d2 }, { path: d1 }] };
    const swappedResult = (await runSpec(api, swapped)).result!;
    // its layers' factors come back from the cache (spilled by the family run), not recomputed
    const work = swappedResult.provenance.work!;
    expect(work.factorsComputed ?? 0).toBe(0);
    expect(work.factorsReused).toBe(swappedResult.models.reduce((a, m) => a + m.layers.length, 0));
    const pair = swappedResult.matrices.find((m) => m.measure.name === 'linreg')!;
    expect(pair.rows.layers).toEqual(backward.rows.layers);
    backward.matrix.forEach((row, r) =>
      row.forEach((v, c) => {
        const w = pair.matrix[r]![c]!;
        if (v === null) expect(w).toBeNull();
        else expect(Math.abs(v - w)).toBeLessThan(1e-10);
      }),
    );
    // …which is not the transpose of the forward direction
    const gapRow = backward.rows.layers.findIndex((l) => l.name === 'gap');
    const gapCol = forward.cols.layers.findIndex((l) => l.name === 'gap');
    const differences = forward.matrix.map((row, r) => {
      const mirrored = backward.matrix[gapRow]![r];
      return row[gapCol] === null || mirrored === null ? 0 : Math.abs(row[gapCol]! - mirrored!);
    });
    expect(Math.max(...differences)).toBeGreaterThan(1e-3);
  });

  it('refuses bootstrap intervals for a baseline, naming it', async () => {
    const spec: ExperimentSpec = {
      ...base,
      name: 'bootstrapped',
      kind: 'self',
      models: [{ path: d1 }],
      measures: ['linear', 'pwcca'],
      options: { bootstrap: { samples: 20, seed: 1 } },
    };
    await expect(api.createExperiment({ spec })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(
        /options\.bootstrap: bootstrap intervals are computed for CKA measures only, not for pwcca/,
      ),
    });
  });
});
