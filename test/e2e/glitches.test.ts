/**
 * The views' glitches, fixed and held, in headless Chromium through the component harness: a
 * tooltip near the right edge keeps names on their lines, a highlighted row name has room for its
 * bold face, keyboard zoom keeps the selection over the plot, the export menu fits a 900 px
 * window, a figure's long layer names and model labels lie inside it with the real font, and the
 * graph view lays out 250 and 2,000 nodes without freezing the page.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { heatmapSvg } from '../../app/common/figures/heatmap-svg.js';
import { similarityFigure } from '../../app/common/figures/matrix-figure.js';
import { pageOnServer } from '../helpers/browser.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { syntheticGraph } from './harness/graphs.js';
import { numberedLayers, syntheticMatrix } from './harness/matrices.js';
import { cellCentre, download, plotBox, show } from './harness/page-helpers.js';
import { serveHarness } from './harness/serve.js';

const ui = pageOnServer(serveHarness, (harness) => harness.url);
let page: Page;
beforeAll(async () => {
  page = ui.page;
  await page.waitForFunction(() => 'harness' in window);
});

/** 40–60 character layer names, as transformer exports have them. */
const longNames = (count: number, prefix: string) =>
  numberedLayers(count, prefix).map((l, i) => ({
    ...l,
    name: `${prefix}.encoder.layer.${i}.attention.output.dense.${'W'.repeat(8 + (i % 5) * 2)}`,
  }));

const matrix: SimilarityMatrix = syntheticMatrix({
  rowLayers: longNames(12, 'rows'),
  colLayers: longNames(15, 'cols'),
  rowLabel: 'bert-base-uncased-finetuned-on-a-very-long-named-dataset-seed-0.onnx',
  colLabel: 'bert-base-uncased-finetuned-on-a-very-long-named-dataset-seed-1.onnx',
  seed: 5,
});
const grid = { rows: 12, cols: 15 };

describe('heatmap glitches', () => {
  it('keeps the tooltip’s names on their lines at the right edge', async () => {
    await show(page, { kind: 'matrix', matrix });
    const layout = await plotBox(page);
    const centre = cellCentre(layout, grid, 5, grid.cols - 1);
    await page.mouse.move(centre.pageX, centre.pageY);
    const tip = (await page.getByTestId('heatmap-tooltip').boundingBox())!;
    const name = (await page.getByTestId('tooltip-col').boundingBox())!;
    // One letter per line made the tooltip ~12 px wide and hundreds tall.
    expect(tip.width).toBeGreaterThan(200);
    expect(name.height).toBeLessThan(3 * 20);
    // It opens towards the plot and stays inside the window.
    expect(tip.x).toBeGreaterThanOrEqual(0);
    expect(tip.x + tip.width).toBeLessThanOrEqual(1280);
  });

  it('leaves room for the highlighted (bold) row name before the canvas edge', async () => {
    await show(page, { kind: 'matrix', matrix });
    const layout = await plotBox(page);
    const room = await page.evaluate(
      ({ labels, plotX }) => {
        const ctx = document.createElement('canvas').getContext('2d')!;
        ctx.font = "600 11px system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif";
        // The canvas draws names ending with "…" past 170 px: the longest bold text it can draw.
        const widest = Math.max(...labels.map((l) => Math.min(ctx.measureText(l).width, 175)));
        // The highlight: name right-aligned 6 px before the plot, a 3 px background on each side.
        return plotX - 6 - widest - 3;
      },
      { labels: matrix.rows.layers.map((l) => l.name), plotX: layout.plot.x },
    );
    expect(room).toBeGreaterThanOrEqual(0);
  });

  it('keeps the selection frame over the plot after keyboard zoom', async () => {
    await show(page, { kind: 'matrix', matrix });
    const layout = await plotBox(page);
    // The bottom-left cell: zooming about the centre used to leave its frame over the row names.
    const corner = cellCentre(layout, grid, grid.rows - 1, 0);
    await page.mouse.click(corner.pageX, corner.pageY);
    await page.mouse.move(5, 5);
    for (let i = 0; i < 3; i++) await page.keyboard.press('+');
    const zoom = Number((await page.getByTestId('heatmap-base').getAttribute('data-view'))!.split(' ')[2]);
    expect(zoom).toBeGreaterThan(2);
    // The selected cell is in view, whole, inside the plot.
    const [x0, y0, k] = (await page.getByTestId('heatmap-base').getAttribute('data-view'))!.split(' ').map(Number);
    // As heatmap-view.ts: an axis never shows fewer than 4 cells.
    const visible = { w: Math.max(grid.cols / k!, 4), h: Math.max(grid.rows / k!, 4) };
    const cell = {
      x: layout.plot.x + ((0 - x0!) * layout.plot.w) / visible.w,
      y: layout.plot.y + ((grid.rows - 1 - y0!) * layout.plot.h) / visible.h,
      w: layout.plot.w / visible.w,
      h: layout.plot.h / visible.h,
    };
    expect(cell.x).toBeGreaterThanOrEqual(layout.plot.x - 0.01);
    expect(cell.y + cell.h).toBeLessThanOrEqual(layout.plot.y + layout.plot.h + 0.01);
    // Nothing of the overlay lies in the corner under the row names and left of the column names,
    // where the frame of a cell zoomed out of view below-left used to be drawn.
    const spill = await page.evaluate((plot) => {
      const overlay = document.querySelector<HTMLCanvasElement>('[data-testid="heatmap-overlay"]')!;
      const top = Math.ceil(plot.y + plot.h + 3);
      const data = overlay.getContext('2d')!.getImageData(0, top, Math.floor(plot.x - 3), overlay.height - top).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
      return painted;
    }, layout.plot);
    expect(spill).toBe(0);
    await expect(page.getByTestId('heatmap-announcement').textContent()).resolves.toContain(
      matrix.rows.layers[grid.rows - 1]!.name,
    );
  });
});

describe('the export menu and the figure', () => {
  it('fits a 900 px window, with one figure entry per format and the figure style', async () => {
    await page.setViewportSize({ width: 900, height: 640 });
    try {
      await show(page, { kind: 'matrix', matrix });
      await page.getByTestId('export-toggle').click();
      const menu = page.getByTestId('export-menu');
      const fits = async () => {
        const box = (await menu.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(900);
        expect(box.y + box.height).toBeLessThanOrEqual(640);
      };
      await fits();
      const labels = await menu.locator('button > span:first-child').allTextContents();
      expect(labels.filter((l) => l.startsWith('Figure ('))).toEqual(['Figure (PNG)', 'Figure (SVG)']);
      await page.getByTestId('figure-style-toggle').click();
      await page.getByTestId('figure-preview').waitFor();
      await fits();
      await saveScreenshot(page, 'export-menu');
      await page.keyboard.press('Escape');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('cuts no text of a figure with long layer names and model labels, in the real font, SVG and PNG', async () => {
    await show(page, { kind: 'matrix', matrix });
    const svg = await download(page, async () => {
      await page.getByTestId('export-toggle').click();
      await page.getByTestId('export-svg').click();
    });
    const png = await download(page, async () => {
      await page.getByTestId('export-toggle').click();
      await page.getByTestId('export-png').click();
    });
    const text = svg.bytes.toString('utf8');
    expect(text).toBe(heatmapSvg(similarityFigure(matrix), { colormap: 'viridis', range: [0, 1], bestMatch: false }));
    // Narrow, large type, origin at the bottom: wrapped titles, still nothing cut.
    const narrow = heatmapSvg(similarityFigure(matrix), { width: 420, fontSize: 14, origin: 'bottom' });
    for (const figure of [text, narrow]) {
      const outside = await page.evaluate((markup) => {
        const holder = document.createElement('div');
        holder.innerHTML = markup;
        document.body.append(holder);
        const root = holder.querySelector('svg')!;
        const width = Number(root.getAttribute('width'));
        const height = Number(root.getAttribute('height'));
        const bad: string[] = [];
        for (const t of Array.from(root.querySelectorAll('text'))) {
          const box = t.getBoundingClientRect();
          const origin = root.getBoundingClientRect();
          const [x0, y0] = [box.left - origin.left, box.top - origin.top];
          if (x0 < -0.5 || y0 < -0.5 || x0 + box.width > width + 0.5 || y0 + box.height > height + 0.5) {
            bad.push(
              `${t.textContent} at ${x0.toFixed(1)},${y0.toFixed(1)} ${box.width.toFixed(1)}×${box.height.toFixed(1)}`,
            );
          }
        }
        holder.remove();
        return { bad, count: root.querySelectorAll('text').length };
      }, figure);
      expect(outside.count).toBeGreaterThan(15);
      expect(outside.bad).toEqual([]);
    }
    // Every layer name is whole (they are under 64 characters).
    for (const l of matrix.cols.layers) expect(text).toContain(`>${l.name}</text>`);
    // The PNG is the SVG drawn at twice its size.
    const [w, h] = /width="(\d+)" height="(\d+)"/.exec(text)!.slice(1).map(Number);
    expect(png.bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([png.bytes.readUInt32BE(16), png.bytes.readUInt32BE(20)]).toEqual([2 * w!, 2 * h!]);
  });
});

describe('graph view', () => {
  it('renders a 250-node graph, and chooses a node’s layer on click', async () => {
    await page.evaluate(() => window.harness.warmGraphLayout());
    const { graph, layers } = syntheticGraph(250);
    await show(page, { kind: 'graph', graph, layers, selection: '' });
    await page.locator('[data-testid="graph-frame"][data-placed="yes"]').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('graph-node').count()).resolves.toBe(252);
    const relu = page.locator('[data-testid="graph-node"][data-op="Relu"]').first();
    await relu.click();
    await expect(relu.getAttribute('class')).resolves.toContain(' on');
    await expect(page.getByTestId('graph-status').textContent()).resolves.toContain('1 layer chosen');
    await page.getByTestId('graph-search').fill('block2 add');
    await expect(page.getByTestId('graph-matches').textContent()).resolves.toMatch(/\d+ match/);
    await page.getByTestId('graph-search').press('Enter');
    await expect(page.getByTestId('graph-matches').textContent()).resolves.toMatch(/^1 of \d+ match/);
  });

  it('lays out 2,000 nodes without freezing the page', async () => {
    const { graph, layers } = syntheticGraph(2000);
    await show(page, { kind: 'graph', graph, layers });
    // While the worker lays it out, the page keeps drawing frames and takes typing.
    await page.getByTestId('graph-search').fill('stage3');
    await expect(page.getByTestId('graph-search').inputValue()).resolves.toBe('stage3');
    const frames = await page.evaluate(() => window.harness.longestFrameGap(120_000));
    expect(frames.placed).toBe(true);
    expect(frames.longestGapMs).toBeLessThan(1000);
    await expect(page.getByTestId('graph-node').count()).resolves.toBe(2002);
    expect(await page.evaluate(() => window.harness.violations())).toEqual([]);
  });
});
