import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ReproduceReport } from '../../app/common/reproduce-report.js';
import { cliBin } from '../helpers/paths.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'reproduce-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Mean of the off-diagonal entries of the square block [from, to) — written again, independently. */
function offDiagonalMean(m: (number | null)[][], from: number, to: number): number {
  const values: number[] = [];
  for (let r = from; r < to; r++) for (let c = from; c < to; c++) if (r !== c) values.push(m[r]![c]!);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

describe('cka-workbench reproduce', () => {
  it("writes the paper's two findings on the shipped zoo: finite numbers, sanity check far above chance", async () => {
    const out = join(dir, 'out');
    const { stdout } = await run(
      process.execPath,
      [cliBin, 'reproduce', '--out', out, '--probe-size', '300', '--data-dir', join(dir, 'data'), '--quiet'],
      { timeout: 240_000 },
    );
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReproduceReport;
    expect(report.probe).toMatchObject({ spec: 'fashion-mnist:300', n: 300 });

    // Table 2: every measure, CKA's and the baselines', with finite accuracies (chance: 1 of 6 layers).
    expect(report.sanity.models).toHaveLength(5);
    expect(report.sanity.rows.map((r) => r.measure)).toEqual([
      'linear',
      'rbf(threshold=0.4)',
      'rbf(threshold=0.8)',
      'debiased',
      'cca',
      'cca-r2',
      'svcca(keep=0.99)',
      'svcca-r2(keep=0.99)',
      'pwcca',
      'linreg',
      'procrustes',
    ]);
    expect(report.sanity.baselinesRunId).toMatch(/^run-/);
    for (const row of report.sanity.rows) {
      expect(row.chance).toBeCloseTo(1 / 6, 12);
      expect(row.accuracyPerPair).toHaveLength(20);
      // Every ordered pair of the 5 models once.
      expect(new Set(row.accuracyPerPair.map((p) => `${p.rowModel}|${p.colModel}`)).size).toBe(20);
      expect(row.accuracyPerPair.every((p) => p.rowModel !== p.colModel)).toBe(true);
      // Each pair scores the same number of (layer, direction) items, so the accuracy is their mean.
      const mean = row.accuracyPerPair.reduce((a, p) => a + p.accuracy, 0) / row.accuracyPerPair.length;
      expect(Math.abs(row.accuracy - mean), row.measure).toBeLessThanOrEqual(1e-12);
    }
    const byMeasure = new Map(report.sanity.rows.map((r) => [r.measure, r]));
    const linear = byMeasure.get('linear')!;
    expect(linear.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(linear.paper).toBe(0.993);
    // CKA far above chance; the paper's baselines behind it, as in the paper. At n = 300 the CCA
    // family (and regression, symmetrised) is defined only on the 64-feature global pool; SVCCA
    // and Procrustes everywhere.
    for (const m of ['linear', 'rbf(threshold=0.4)', 'rbf(threshold=0.8)', 'debiased']) {
      expect(byMeasure.get(m)!.accuracy, m).toBeGreaterThanOrEqual(0.5);
      expect(byMeasure.get(m)!.definedLayers, m).toBe(6);
    }
    for (const m of ['cca', 'cca-r2', 'svcca(keep=0.99)', 'svcca-r2(keep=0.99)', 'pwcca', 'linreg']) {
      expect(byMeasure.get(m)!.paper, m).toBeGreaterThan(0);
      expect(byMeasure.get(m)!.accuracy, m).toBeLessThan(linear.accuracy);
    }
    expect(['cca', 'cca-r2', 'pwcca', 'linreg'].map((m) => byMeasure.get(m)!.definedLayers)).toEqual([1, 1, 1, 1]);
    expect(byMeasure.get('svcca(keep=0.99)')!.definedLayers).toBe(6);
    expect(byMeasure.get('pwcca')!.symmetrised).toBe(true);
    expect(byMeasure.get('procrustes')!.paper).toBeNull();

    // The same check pooled over spatial positions: every layer has ≤ 64 features, so every
    // measure has a value on every layer (the baselines' misses are then real misses).
    expect(report.pooled?.reduction).toBe('mean');
    expect(report.pooled!.rows.map((r) => r.measure)).toEqual([
      'linear',
      'cca',
      'cca-r2',
      'svcca(keep=0.99)',
      'svcca-r2(keep=0.99)',
      'pwcca',
      'linreg',
      'procrustes',
    ]);
    for (const row of report.pooled!.rows) {
      expect(row.definedLayers, row.measure).toBe(6);
      expect(row.accuracyPerPair, row.measure).toHaveLength(20);
    }
    expect(report.pooled!.rows[0]!.accuracy).toBeGreaterThanOrEqual(0.5);

    // Figure 3: one finite self-similarity matrix per depth, ones on the diagonal.
    expect(report.depth.figures.map((f) => [f.label, f.layers.length])).toEqual([
      ['plain-d1-s0', 3],
      ['plain-d2-s0', 6],
      ['plain-d4-s0', 12],
      ['plain-d8-s0', 24],
    ]);
    for (const f of report.depth.figures) {
      const size = f.layers.length;
      expect(f.matrix.flat().every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
      for (let i = 0; i < size; i++) expect(f.matrix[i]![i]).toBeCloseTo(1, 6);
      expect(f.lastHalfMeanOffDiagonal).toBeCloseTo(offDiagonalMean(f.matrix, Math.floor(size / 2), size), 12);
      expect(f.meanOffDiagonal).toBeCloseTo(offDiagonalMean(f.matrix, 0, size), 12);
      // The largest block really is all ≥ the threshold.
      const { first, last } = f.largestBlock;
      for (let r = first; r <= last; r++) {
        for (let c = first; c <= last; c++)
          expect(f.matrix[r]![c]!).toBeGreaterThanOrEqual(report.depth.blockThreshold);
      }
    }

    // One SVG per figure, a summary with the numbers, and the same numbers printed.
    const files = readdirSync(out).sort();
    expect(files.filter((f) => f.startsWith('depth-'))).toHaveLength(4);
    expect(files.filter((f) => f.startsWith('sanity-'))).toHaveLength(11);
    const d8 = readFileSync(join(out, 'depth-plain-d8-s0.svg'), 'utf8');
    expect(d8.startsWith('<svg')).toBe(true);
    // 24 × 24 cells (the cell size read from the first one), and the diagonal — each layer
    // against itself, CKA 1 — in viridis' top colour.
    const cells = d8.slice(d8.indexOf('<g shape-rendering="crispEdges">'));
    const [, x0, y0, w, h] = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(cells)!;
    const cellRects = [
      ...cells.matchAll(
        new RegExp(`<rect x="([\\d.]+)" y="([\\d.]+)" width="${w}" height="${h}" fill="(#[0-9a-f]{6})"`, 'g'),
      ),
    ];
    expect(cellRects).toHaveLength(24 * 24);
    const fillAt = new Map(cellRects.map(([, x, y, fill]) => [`${Number(x)},${Number(y)}`, fill]));
    for (let i = 0; i < 24; i++) {
      expect(fillAt.get(`${Number(x0) + i * Number(w)},${Number(y0) + i * Number(h)}`)).toBe('#fde725');
    }
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toContain(`| linear | ${(linear.accuracy * 100).toFixed(1)}% | 16.7% | 99.3% | 6 of 6 |`);
    expect(summary).toContain('| pwcca |');
    expect(summary).toMatch(/Linear CKA \([\d.]+%\) is ahead of every baseline/);
    for (const f of report.depth.figures) expect(summary).toContain(f.lastHalfMeanOffDiagonal.toFixed(3));
    expect(stdout).toMatch(/sanity check on 5 seeds, 6 layers, fashion-mnist:300/);

    // ViT vs CNN: the transformer's embedding, two residual sums per block and its pooled token
    // against the CNN's five layers, averaged over tokens / positions; best matches recomputed here.
    const vit = report.vitVsCnn!;
    expect(vit.models).toEqual(['vit-s0', 'plain-d1-s0']);
    expect(vit.reduction).toBe('mean');
    expect(vit.rows.map((l) => l.name)).toEqual([
      'embed.add',
      ...[0, 1, 2, 3].flatMap((k) => [`blocks.${k}.add`, `blocks.${k}.add_1`]),
      'pool',
    ]);
    expect(vit.cols.map((l) => l.name)).toEqual([
      'stage1.block0.relu',
      'pool1',
      'stage2.block0.relu',
      'pool2',
      'stage3.block0.relu',
    ]);
    expect(vit.matrix.flat().every((v) => typeof v === 'number' && v > 0 && v <= 1 + 1e-9)).toBe(true);
    vit.bestMatch.forEach((b, r) => {
      const row = vit.matrix[r] as number[];
      expect(b.value).toBe(Math.max(...row));
      expect(b.match).toBe(vit.cols[row.indexOf(b.value)]!.name);
    });
    expect(files).toContain('vit-vs-cnn.svg');
    expect(summary).toContain('## ViT vs CNN (Raghu et al. 2021)');
  }, 300_000);
});
