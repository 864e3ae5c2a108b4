/**
 * One figure from both places: the page's "Figure (SVG)" (the pure function HeatmapPanel calls,
 * on the heatmap data the page shows) and `runs export --format svg` (exportResult) write the same
 * bytes for the same matrix or seeds summary, at the page's default view (viridis, 0 – 1, no
 * markers). Their CSVs and file names agree too.
 */
import { describe, expect, it } from 'vitest';
import type { ExperimentResult, LayerRef } from '../../app/common/contract.js';
import { UNIT_RANGE } from '../../app/common/figures/color-scale.js';
import { pairStem, seedsStem } from '../../app/common/figures/matrix-figure.js';
import { exportResult } from '../../app/engine/experiments/export/export-result.js';
import { heatmapFromSeeds, heatmapFromSimilarity } from '../../renderer/src/charts/heatmap-data.js';
import { heatmapFigureSvg, heatmapToCsv } from '../../renderer/src/lib/matrix-export.js';

const pageView = { colormap: 'viridis', range: UNIT_RANGE, bestMatch: false } as const;

const layers = (prefix: string, n: number): LayerRef[] =>
  Array.from({ length: n }, (_, i) => ({ tensor: `${prefix}${i}`, name: `${prefix}/block.${i}/relu <${i}>` }));
const grid = (rows: number, cols: number, at: (r: number, c: number) => number | null) =>
  Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => at(r, c)));

const a = layers('a', 4);
const b = layers('b', 3);
const base: Omit<ExperimentResult, 'spec' | 'models' | 'matrices'> = {
  probe: { spec: 'fashion-mnist:12345', hash: 'h', n: 12345 },
  partial: false,
  provenance: { appVersion: 'v', onnxruntime: 'o', startedAt: 's', finishedAt: 'f', timingsMs: {} },
};

const pairResult: ExperimentResult = {
  ...base,
  spec: {
    name: 'pair: A/B',
    kind: 'pair',
    models: [{ path: '/a.onnx' }, { path: '/b.onnx' }],
    probe: 'fashion-mnist:12345',
    layers: 'all',
    measures: ['linear', 'rbf'],
  },
  models: [
    { path: '/a.onnx', sha256: 'a'.repeat(64), label: 'net & co <v2>.onnx', layers: a },
    { path: '/b.onnx', sha256: 'b'.repeat(64), label: 'other.onnx', layers: b },
  ],
  matrices: [
    {
      measure: { name: 'linear', params: {} },
      n: 12345,
      rows: { model: 0, label: 'net & co <v2>.onnx', layers: a },
      cols: { model: 1, label: 'other.onnx', layers: b },
      matrix: grid(4, 3, (r, c) => (r === 2 && c === 1 ? null : (r * 3 + c) / 11)),
      undefined: [{ row: 2, col: 1, reason: 'constant layer' }],
    },
    {
      measure: { name: 'rbf', params: { threshold: 0.4 } },
      n: 12345,
      rows: { model: 1, label: 'other.onnx', layers: b },
      cols: { model: 0, label: 'net & co <v2>.onnx', layers: a },
      // Outside [0, 1] on both ends: clamped, and the figure says so.
      matrix: grid(3, 4, (r, c) => (r - c) / 2),
      undefined: [],
    },
  ],
};

const seeds = ['s0', 's1', 's2'].map((s) => ({
  path: `/${s}.onnx`,
  sha256: s.repeat(32),
  label: `${s}.onnx`,
  layers: a,
}));
const seedsResult: ExperimentResult = {
  ...base,
  spec: {
    name: 'seeds sanity',
    kind: 'seeds',
    models: seeds.map((m) => ({ path: m.path })),
    probe: 'fashion-mnist:12345',
    layers: 'all',
    measures: ['linear'],
  },
  models: seeds,
  matrices: [],
  seeds: [
    {
      measure: { name: 'linear', params: {} },
      mean: grid(4, 4, (r, c) => (r === c ? 0.97 : 0.4 + 0.1 * Math.abs(r - c))),
      std: grid(4, 4, (r, c) => (r === 3 && c === 0 ? null : 0.01 * (r + c + 1))),
      accuracy: 0.75,
      accuracyPerPair: [],
    },
  ],
};

describe('the page and runs export draw the same figure', () => {
  it.each([0, 1])('matrix %i: the same SVG bytes, CSV bytes and file name', (index) => {
    const matrix = pairResult.matrices[index]!;
    const page = heatmapFromSimilarity(matrix);
    const engine = exportResult(pairResult, { runId: 'r', format: 'svg', matrix: index });
    expect(heatmapFigureSvg(page, pageView)).toBe(engine.data);
    expect(engine.data).toContain('12,345 examples');
    expect(heatmapToCsv(page)).toBe(exportResult(pairResult, { runId: 'r', format: 'csv', matrix: index }).data);
    expect(`${pairStem(matrix.rows.label, matrix.cols.label, matrix.measure, pairResult.spec.name)}.svg`).toBe(
      engine.fileName,
    );
  });

  it('the clamped matrix says so in both', () => {
    expect(exportResult(pairResult, { runId: 'r', format: 'svg', matrix: 1 }).data).toContain(
      'values outside are clamped',
    );
  });

  it.each(['mean', 'std'] as const)('seeds %s: the same SVG bytes, CSV bytes and file name', (statistic) => {
    const summary = seedsResult.seeds![0]!;
    const page = heatmapFromSeeds(summary, seedsResult.models, seedsResult.probe.n, statistic);
    const request = { runId: 'r', seeds: { measure: 0, statistic } };
    const engine = exportResult(seedsResult, { ...request, format: 'svg' });
    expect(heatmapFigureSvg(page, pageView)).toBe(engine.data);
    expect(heatmapToCsv(page)).toBe(exportResult(seedsResult, { ...request, format: 'csv' }).data);
    expect(`${seedsStem(summary.measure, statistic, seedsResult.spec.name)}.svg`).toBe(engine.fileName);
  });
});
