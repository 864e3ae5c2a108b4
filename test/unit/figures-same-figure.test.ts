/**
 * One figure from both places: the page's "Figure (SVG)" (the pure function HeatmapPanel calls,
 * on the heatmap data the page shows) and `runs export --format svg` (exportResult) write the same
 * bytes for the same matrix, seeds summary or seeds pair, at the page's default view (viridis,
 * 0 – 1, no markers) and with every figure option set. Their CSVs and file names agree too.
 */
import { describe, expect, it } from 'vitest';
import type { ExperimentResult, LayerRef } from '../../app/common/contract.js';
import type { FigureOptions } from '../../app/common/contract.js';
import { pairStem, seedsStem } from '../../app/common/figures/matrix-figure.js';
import { transposeMatrix } from '../../app/common/result-pairs.js';
import { exportResult } from '../../app/engine/experiments/export/export-result.js';
import { heatmapFromSeeds, heatmapFromSimilarity } from '../../renderer/src/charts/heatmap-data.js';
import { heatmapFigureSvg, heatmapToCsv } from '../../renderer/src/lib/matrix-export.js';
import { seedsView } from '../../renderer/src/lib/seeds-views.js';

const pageView: FigureOptions = { colormap: 'viridis', range: 'unit', bestMatch: false };
/** Every option away from its default. */
const paperStyle: FigureOptions = {
  colormap: 'magma',
  range: 'data',
  bestMatch: true,
  axisLabels: 'indices',
  origin: 'bottom',
  squareCells: false,
  fontSize: 14,
  width: 720,
};

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
const seedPair = (i: number, j: number) => ({
  measure: { name: 'linear' as const, params: {} },
  n: 12345,
  rows: { model: i, label: seeds[i]!.label, layers: a },
  cols: { model: j, label: seeds[j]!.label, layers: a },
  matrix: grid(4, 4, (r, c) => (r === c ? 0.9 : 0.3) + 0.01 * (i + 2 * j) + 0.001 * c),
  undefined: [],
});
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
  // (0, 1) both ways, as seeds runs store them, and (2, 0) one way only: (0, 2) is its transpose.
  matrices: [seedPair(0, 1), transposeMatrix(seedPair(0, 1)), seedPair(2, 0)],
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

  it.each([0, 1])('matrix %i in the paper style: the same SVG bytes', (index) => {
    const page = heatmapFromSimilarity(pairResult.matrices[index]!);
    const engine = exportResult(pairResult, { runId: 'r', format: 'svg', matrix: index, figure: paperStyle });
    expect(heatmapFigureSvg(page, paperStyle)).toBe(engine.data);
    expect(engine.data).not.toBe(exportResult(pairResult, { runId: 'r', format: 'svg', matrix: index }).data);
  });

  it.each([
    [2, 0],
    [0, 2],
    [1, 0],
  ])('seeds pair (%i, %i): the same SVG bytes, CSV bytes and file name, naming both models', (rows, cols) => {
    const summary = seedsResult.seeds![0]!;
    const page = seedsView(seedsResult, summary, { kind: 'pair', rows, cols })!;
    for (const figure of [pageView, paperStyle]) {
      const engine = exportResult(seedsResult, { runId: 'r', format: 'svg', pair: { rows, cols }, figure });
      expect(heatmapFigureSvg(page.data, figure)).toBe(engine.data);
    }
    const svg = exportResult(seedsResult, { runId: 'r', format: 'svg', pair: { rows, cols } });
    expect(svg.data).toContain(`${seeds[rows]!.label} vs ${seeds[cols]!.label} · linear CKA · 12,345 examples`);
    expect(svg.fileName).toBe(
      `${pairStem(seeds[rows]!.label, seeds[cols]!.label, summary.measure, 'seeds sanity')}.svg`,
    );
    expect(heatmapToCsv(page.data)).toBe(
      exportResult(seedsResult, { runId: 'r', format: 'csv', pair: { rows, cols } }).data,
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
    // The std on its own range, as the page shows it by default: the same bytes.
    const own: FigureOptions = { ...pageView, range: 'data' };
    expect(heatmapFigureSvg(page, own)).toBe(
      exportResult(seedsResult, { ...request, format: 'svg', figure: own }).data,
    );
  });
});
