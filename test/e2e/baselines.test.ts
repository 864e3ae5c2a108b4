/**
 * The paper's baselines in the app, in a real browser over the real server: pick CCA and PWCCA
 * beside linear CKA in the experiment builder, run a seeds experiment on two shipped seeds, and
 * read each measure's sanity-check accuracy (recomputed here from the stored matrices, PWCCA
 * symmetrised as m(A, B) + m(B, A)) and heatmap (a cell's colour and value), and the reason an
 * undefined cell gives (CCA on a layer with more features than examples).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ExperimentResult, SimilarityMatrix } from '../../app/common/contract.js';
import { pageOnServer } from '../helpers/browser.js';
import { repoRoot } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basePixels, cellCentre, expectedColour, plotBox } from './harness/page-helpers.js';

const ui = pageOnServer(startTestServer, (t) => t.server.urlWithToken);
let t: TestServer;
let page: Page;
beforeAll(() => {
  ({ server: t, page } = ui);
});

const zoo = (name: string) => join(repoRoot, 'models', 'zoo', `${name}.onnx`);
const percent = (fraction: number) => `${(Math.round(fraction * 1000) / 10).toFixed(1)}%`;

/**
 * Over both ordered pairs: how often a hidden layer's best match (among hidden layers) is itself;
 * `partner` gives the other direction's matrix for asymmetric measures (summed, transposed).
 */
function accuracy(matrices: SimilarityMatrix[], hidden: number, symmetrise: boolean): number {
  let hits = 0;
  let total = 0;
  for (const m of matrices) {
    const back = matrices.find((o) => o.rows.model === m.cols.model && o.cols.model === m.rows.model)!;
    for (let r = 0; r < hidden; r++) {
      const scores = Array.from({ length: hidden }, (_, c) => {
        const v = m.matrix[r]![c];
        const w = back.matrix[c]![r];
        if (v === null || v === undefined) return -Infinity;
        if (!symmetrise) return v;
        return w === null || w === undefined ? -Infinity : v + w;
      });
      const best = Math.max(...scores);
      hits += Number(best > -Infinity && scores.indexOf(best) === r);
      total++;
    }
  }
  return hits / total;
}

describe('CCA and PWCCA beside linear CKA', () => {
  let result: ExperimentResult;

  it('are picked in the builder and run as a seeds experiment', { timeout: 150_000 }, async () => {
    await page.getByTestId('nav-experiment').click();
    await page.getByTestId('kind-seeds').click();
    for (const seed of ['plain-d1-s0', 'plain-d1-s1']) await page.getByTestId('add-model').selectOption(zoo(seed));
    const layerSelects = page.getByTestId('layer-select');
    await expect.poll(() => layerSelects.count(), { timeout: 30_000 }).toBe(2);
    // every ReLU (12544, 6272 and 3136 features), the global pool (64) and the logits (10)
    for (const i of [0, 1]) await layerSelects.nth(i).selectOption('preset:blocks');
    await page.getByTestId('probe-n').fill('300');
    await page.getByTestId('measure-cca').check();
    await page.getByTestId('measure-pwcca').check();
    await expect(page.getByTestId('measure-linear').isChecked()).resolves.toBe(true);
    await page.getByTestId('run-experiment').click();
    await page.getByTestId('run-detail').waitFor();
    const runId = (await page.getByTestId('run-detail').getAttribute('data-run-id'))!;
    await page.locator('[data-testid="run-status"][data-status="done"]').waitFor({ timeout: 140_000 });
    result = (await t.api.getRun({ runId })).result!;
    expect(result.spec.measures).toEqual(['linear', 'cca', 'pwcca']);
    expect(result.seeds!.map((s) => s.measure.name)).toEqual(['linear', 'cca', 'pwcca']);
  });

  it("shows each measure's accuracy and heatmap, and why a cell is empty", { timeout: 60_000 }, async () => {
    const names = result.models[0]!.layers.map((l) => l.name);
    expect(names).toEqual(['stage1.block0.relu', 'stage2.block0.relu', 'stage3.block0.relu', 'gap', 'head']);
    const hidden = 4; // the logits are left out
    const gap = 3;
    for (const [index, name] of ['linear', 'cca', 'pwcca'].entries()) {
      await page.getByTestId('seeds-measure').selectOption(String(index));
      const summary = result.seeds![index]!;
      const matrices = result.matrices.filter((m) => m.measure.name === name);
      expect(matrices).toHaveLength(2);
      const expected = accuracy(matrices, hidden, name === 'pwcca');
      expect(summary.accuracy, name).toBeCloseTo(expected, 12);
      await expect(page.getByTestId('seeds-accuracy').textContent()).resolves.toBe(percent(expected));

      // the mean heatmap: the global pool against itself, its colour and its value
      await page.getByTestId('heatmap-base').scrollIntoViewIfNeeded();
      const layout = await plotBox(page);
      const grid = { rows: names.length, cols: names.length };
      const centre = cellCentre(layout, grid, gap, gap);
      const mean = summary.mean[gap]![gap]!;
      const [pixel] = await basePixels(page, [centre]);
      expect(pixel, name).toEqual(expectedColour(mean, 'viridis'));
      await page.mouse.move(centre.pageX, centre.pageY);
      await expect(page.getByTestId('tooltip-value').textContent()).resolves.toBe(mean.toFixed(4));
    }
    // PWCCA ranks m(A, B) + m(B, A), and says so
    await expect(page.getByTestId('seeds-view').textContent()).resolves.toContain('ranked by m(Aᵢ, Bⱼ) + m(Bⱼ, Aᵢ)');

    // CCA of the first ReLU (12544 features less its dead units, 300 examples) is undefined, and the tooltip says why
    await page.getByTestId('seeds-measure').selectOption('1');
    await expect(page.getByTestId('seeds-undefined').textContent()).resolves.toContain('undefined for every pair');
    await page.getByTestId('heatmap-base').scrollIntoViewIfNeeded();
    const layout = await plotBox(page);
    const empty = cellCentre(layout, { rows: 5, cols: 5 }, 0, 1);
    await page.mouse.move(empty.pageX, empty.pageY);
    const reason = await page.getByTestId('tooltip-reason').textContent();
    const [, live] = /too-few-examples: X \(layer 'stage1\.block0\.relu'\) has p = (\d+) live features ≥ n = 300/.exec(
      reason ?? '',
    ) ?? [reason];
    expect(Number(live), reason ?? '').toBeGreaterThan(300);
    expect(Number(live)).toBeLessThanOrEqual(12544);
    expect(result.seeds![1]!.mean[0]![1]).toBeNull();
    await saveScreenshot(page, 'app-baselines');
  });
});
