/**
 * Result views built on the heatmap — seeds (mean ± spread and the sanity-check accuracy) and the
 * family grid (shared colour scale) — and choosing layers in the layer table, through the
 * component harness with results made in Node.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { LayerInfo } from '../../app/common/contract.js';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { pageOnServer } from '../helpers/browser.js';
import { fixturesDir } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { familyResult, numberedLayers, seedsResult } from './harness/matrices.js';
import { basePixels, cellCentre, expectedColour, plotBox, show } from './harness/page-helpers.js';
import { serveHarness } from './harness/serve.js';

const ui = pageOnServer(serveHarness, (harness) => harness.url);
let page: Page;

beforeAll(async () => {
  page = ui.page;
  await page.waitForFunction(() => 'harness' in window);
});

const percent = (fraction: number) => `${(Math.round(fraction * 1000) / 10).toFixed(1)}%`;

describe('seeds view', () => {
  const layers = numberedLayers(10, 'plain');
  const result = seedsResult(3, layers);
  const summary = result.seeds![0]!;

  it('shows the sanity-check accuracy, overall and per pair', async () => {
    await show(page, { kind: 'result', result });
    await expect(page.getByTestId('seeds-accuracy').textContent()).resolves.toBe(percent(summary.accuracy));
    // A k × k grid: rows model × columns model, nothing on the diagonal.
    const grid = await page.$$eval('[data-testid="seeds-pairs"] tbody tr', (rows) =>
      rows.map((row) => Array.from(row.querySelectorAll('th, td'), (cell) => cell.textContent?.trim())),
    );
    const letter = (i: number) => String.fromCharCode(65 + i);
    expect(grid).toEqual(
      [0, 1, 2].map((row) => [
        letter(row),
        ...[0, 1, 2].map((col) => {
          const pair = summary.accuracyPerPair.find((p) => p.rowModel === row && p.colModel === col);
          return pair ? percent(pair.accuracy) : '—';
        }),
      ]),
    );
    expect(summary.accuracyPerPair).toHaveLength(6);
  });

  it('draws the mean and shows mean ± std in the tooltip', async () => {
    await show(page, { kind: 'result', result });
    await expect(page.getByTestId('row-axis-title').textContent()).resolves.toBe(
      'rows: seed i, each of 3 (layers of plain-d8-s0.onnx)',
    );
    const layout = await plotBox(page);
    const grid = { rows: 10, cols: 10 };
    const [r, c] = [6, 4];
    const centre = cellCentre(layout, grid, r, c);
    const [pixel] = await basePixels(page, [centre]);
    expect(pixel).toEqual(expectedColour(summary.mean[r]![c]!, 'viridis'));
    await page.mouse.move(centre.pageX, centre.pageY);
    await expect(page.getByTestId('tooltip-value').textContent()).resolves.toBe(summary.mean[r]![c]!.toFixed(4));
    await expect(page.getByTestId('tooltip-spread').textContent()).resolves.toContain(
      `± ${summary.std[r]![c]!.toFixed(4)}`,
    );
    await page.mouse.click(centre.pageX, centre.pageY);
    await saveScreenshot(page, 'seeds-view');
  });

  it('can colour by the standard deviation instead, on its own range', async () => {
    await show(page, { kind: 'result', result });
    await page.getByTestId('seeds-show').selectOption('std');
    const layout = await plotBox(page);
    const centre = cellCentre(layout, { rows: 10, cols: 10 }, 2, 7);
    const [pixel] = await basePixels(page, [centre]);
    const all = summary.std.flat().filter((v): v is number => v !== null);
    expect(pixel).toEqual(expectedColour(summary.std[2]![7]!, 'viridis', Math.min(...all), Math.max(...all)));
  });
});

describe('family grid', () => {
  const result = familyResult(['plain-d6.onnx', 'wide-d9.onnx', 'deep-d12.onnx'], [6, 9, 12]);
  const stored = (i: number, j: number) => result.matrices.find((m) => m.rows.model === i && m.cols.model === j)!;

  /** Pixel of cell (r, c) of the grid's (i, j) mini heatmap. */
  async function miniPixel(i: number, j: number, r: number, c: number, rows: number, cols: number) {
    return page
      .getByTestId(`family-cell-${i}-${j}`)
      .locator('canvas')
      .evaluate(
        (canvas, at) => {
          const el = canvas as HTMLCanvasElement;
          const x = Math.floor(((at.c + 0.5) * el.width) / at.cols);
          const y = Math.floor(((at.r + 0.5) * el.height) / at.rows);
          return [...el.getContext('2d')!.getImageData(x, y, 1, 1).data.slice(0, 3)];
        },
        { r, c, rows, cols },
      );
  }

  it('shows every pair, the missing direction transposed, on one shared scale', async () => {
    await show(page, { kind: 'result', result });
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) await page.getByTestId(`family-cell-${i}-${j}`).waitFor();
    // (2, 0) is stored as (0, 2): its cell (r, c) is the stored (c, r).
    const m02 = stored(0, 2);
    expect(await miniPixel(2, 0, 3, 1, 12, 6)).toEqual(expectedColour(m02.matrix[1]![3]!, 'viridis'));
    expect(await miniPixel(0, 2, 1, 3, 6, 12)).toEqual(expectedColour(m02.matrix[1]![3]!, 'viridis'));

    await page.getByTestId('family-scale').selectOption('data');
    const all = result.matrices.flatMap((m) => m.matrix.flat()).filter((v): v is number => v !== null);
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    const m11 = stored(1, 1);
    expect(await miniPixel(1, 1, 4, 5, 9, 9)).toEqual(expectedColour(m11.matrix[4]![5]!, 'viridis', lo, hi));
    expect(await miniPixel(0, 1, 2, 8, 6, 9)).toEqual(expectedColour(stored(0, 1).matrix[2]![8]!, 'viridis', lo, hi));
  });

  it('opens a pair in full with the right models on the axes', async () => {
    await show(page, { kind: 'result', result });
    await page.getByTestId('family-cell-2-0').click();
    await expect(page.getByTestId('row-axis-title').textContent()).resolves.toBe('rows: model C: deep-d12.onnx');
    await expect(page.getByTestId('col-axis-title').textContent()).resolves.toBe('columns: model A: plain-d6.onnx');
    await page.getByTestId('heatmap').scrollIntoViewIfNeeded();
    const layout = await plotBox(page);
    const centre = cellCentre(layout, { rows: 12, cols: 6 }, 7, 2);
    await page.mouse.move(centre.pageX, centre.pageY);
    await expect(page.getByTestId('tooltip-value').textContent()).resolves.toBe(stored(0, 2).matrix[2]![7]!.toFixed(4));
    await page.mouse.move(5, 5);
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, 'family-grid');
  });
});

describe('choosing layers', () => {
  let layers: LayerInfo[];
  const spec = () => page.getByTestId('selection-spec').textContent();

  beforeAll(async () => {
    layers = (await inspectModelFile(join(fixturesDir, 'models/resnet18_narrow.onnx'))).layers;
  });

  it('edits the selection spec with checkboxes, op and all/none', async () => {
    await show(page, { kind: 'layers', layers, selection: 'all' });
    const relu = layers.filter((l) => l.op === 'Relu');
    await expect(spec()).resolves.toBe('all');
    await page.getByTestId('select-none').click();
    await expect(page.getByTestId('selection-summary').textContent()).resolves.toContain(
      `0 of ${layers.length} chosen`,
    );
    await page.getByTestId('select-op').selectOption('Relu');
    await expect(spec()).resolves.toBe('op:Relu');
    await page.locator(`tr[data-tensor="${relu[0]!.tensor}"] input[type=checkbox]`).uncheck();
    await expect(spec()).resolves.toBe(
      relu
        .slice(1)
        .map((l) => l.tensor)
        .join(','),
    );
    // Filter to Conv layers and tick every listed one: now Relu minus one plus every Conv.
    await page.getByTestId('op-filter').selectOption('Conv');
    await page.getByTestId('select-visible').check();
    const chosen = layers.filter((l) => l.op === 'Conv' || (l.op === 'Relu' && l !== relu[0]));
    await expect(spec()).resolves.toBe(chosen.map((l) => l.tensor).join(','));
    await page.getByTestId('op-filter').selectOption('');
    await page.locator(`tr[data-tensor="${relu[0]!.tensor}"] input[type=checkbox]`).check();
    await expect(spec()).resolves.toBe('op:Conv,Relu');
    await saveScreenshot(page, 'layer-selection');
    await page.getByTestId('select-all').click();
    await expect(spec()).resolves.toBe('all');
  });

  it('shows a spec it was given, and what in it is not in this model', async () => {
    await show(page, { kind: 'layers', layers, selection: `${layers[3]!.name},nonexistent_layer` });
    await expect(page.locator('[data-testid="layer-table"] tbody input:checked').count()).resolves.toBe(1);
    await expect(page.getByTestId('selection-summary').textContent()).resolves.toContain(
      'not in this model: nonexistent_layer',
    );
  });
});

describe('themes', () => {
  it('follows a dark system theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await show(page, { kind: 'result', result: seedsResult(3, numberedLayers(12, 'plain')) });
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(22, 24, 28)');
    await saveScreenshot(page, 'seeds-view-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await page.evaluate(() => window.harness.violations())).toEqual([]);
  });
});
