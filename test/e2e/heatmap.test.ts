/**
 * The heatmap and the views around it, in headless Chromium through the component harness (the
 * experiments API does not exist yet): colours read back from the canvas, tooltips, undefined
 * cells, axis titles, best-match markers, keyboard, zoom/pan, exports, and the 200 × 200 timings.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { pageOnServer } from '../helpers/browser.js';
import { fixturesDir } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { fixtureLayers, numberedLayers, syntheticMatrix } from './harness/matrices.js';
import {
  baseRegion,
  basePixels,
  cellCentre,
  download,
  expectedColour,
  hexRgb,
  parseCsv,
  percentile,
  plotBox,
  show,
} from './harness/page-helpers.js';
import { serveHarness } from './harness/serve.js';

const ui = pageOnServer(serveHarness, (harness) => harness.url);
let page: Page;

const NULL_FILL = hexRgb('#8c9199');
const MARKER = [255, 255, 255];

/** A 12 × 15 matrix with big cells, two undefined cells and bootstrap intervals. */
const small: SimilarityMatrix = syntheticMatrix({
  rowLayers: numberedLayers(12, 'layer'),
  colLayers: numberedLayers(15, 'block'),
  rowLabel: 'plain-d12-s0.onnx',
  colLabel: 'wide-d15-s0.onnx',
  seed: 11,
  withIntervals: true,
  undefinedCells: [
    { row: 2, col: 5, reason: "layer 'layer.2.relu' is constant over the probe set" },
    { row: 9, col: 0, reason: "NaN in the activations of 'block.0.relu'" },
  ],
});
const grid = { rows: 12, cols: 15 };
const valueAt = (m: SimilarityMatrix, r: number, c: number) => m.matrix[r]![c]!;

beforeAll(async () => {
  page = ui.page;
  await page.waitForFunction(() => 'harness' in window);
});

describe('heatmap canvas', () => {
  it('draws every cell in the colormap entry of its value (viridis and magma)', async () => {
    for (const colormap of ['viridis', 'magma'] as const) {
      await show(page, { kind: 'heatmap', matrix: small, colormap });
      const layout = await plotBox(page);
      const cells = [];
      for (let r = 0; r < grid.rows; r++)
        for (let c = 0; c < grid.cols; c++) cells.push({ r, c, ...cellCentre(layout, grid, r, c) });
      const pixels = await basePixels(page, cells);
      cells.forEach(({ r, c }, i) => {
        const v = valueAt(small, r, c);
        // Undefined cells are hatched: their own test reads them.
        if (v !== null) expect(pixels[i], `cell ${r},${c} (${colormap})`).toEqual(expectedColour(v, colormap));
      });
    }
  });

  it('maps the data range when asked instead of [0, 1]', async () => {
    const values = small.matrix.flat().filter((v): v is number => v !== null);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    await show(page, { kind: 'heatmap', matrix: small, range: [lo, hi] });
    const layout = await plotBox(page);
    const probes = [
      [0, 0],
      [5, 7],
      [11, 14],
      [3, 9],
    ] as const;
    const pixels = await basePixels(
      page,
      probes.map(([r, c]) => cellCentre(layout, grid, r, c)),
    );
    probes.forEach(([r, c], i) => expect(pixels[i]).toEqual(expectedColour(valueAt(small, r, c)!, 'viridis', lo, hi)));
  });

  it('hatches undefined cells in grey and gives their reason on hover', async () => {
    await show(page, { kind: 'heatmap', matrix: small });
    const layout = await plotBox(page);
    for (const cell of small.undefined) {
      const w = layout.plot.w / grid.cols;
      const h = layout.plot.h / grid.rows;
      const region = await baseRegion(page, {
        x: layout.plot.x + cell.col * w + 1,
        y: layout.plot.y + cell.row * h + 1,
        w: w - 2,
        h: h - 2,
      });
      const grey = region.filter((p) => p.every((v, k) => v === NULL_FILL[k])).length / region.length;
      // Mostly the grey fill, with hatching lines across it.
      expect(grey).toBeGreaterThan(0.3);
      expect(grey).toBeLessThan(0.95);
      const centre = cellCentre(layout, grid, cell.row, cell.col);
      await page.mouse.move(centre.pageX, centre.pageY);
      await expect(page.getByTestId('tooltip-reason').textContent()).resolves.toContain(cell.reason);
      expect(await page.getByTestId('heatmap-tooltip').getByTestId('tooltip-value').count()).toBe(0);
    }
  });

  it('shows both layer names, the value and its interval in the tooltip', async () => {
    await show(page, { kind: 'heatmap', matrix: small });
    const layout = await plotBox(page);
    for (const [r, c] of [
      [0, 0],
      [4, 11],
      [11, 14],
      [7, 3],
    ] as const) {
      const centre = cellCentre(layout, grid, r, c);
      await page.mouse.move(centre.pageX, centre.pageY);
      const tip = page.getByTestId('heatmap-tooltip');
      await expect(tip.getByTestId('tooltip-row').textContent()).resolves.toBe(small.rows.layers[r]!.name);
      await expect(tip.getByTestId('tooltip-col').textContent()).resolves.toBe(small.cols.layers[c]!.name);
      await expect(tip.getByTestId('tooltip-value').textContent()).resolves.toBe(valueAt(small, r, c)!.toFixed(4));
      const interval = (await tip.getByTestId('tooltip-interval').textContent()) ?? '';
      expect(interval).toContain(
        `95% interval [${small.ci!.lo[r]![c]!.toFixed(4)}, ${small.ci!.hi[r]![c]!.toFixed(4)}]`,
      );
      expect(interval).toContain('200 bootstrap samples');
    }
    await page.mouse.move(5, 5);
    await expect(page.getByTestId('heatmap-tooltip').count()).resolves.toBe(0);
  });

  it('labels which model is which axis', async () => {
    const a = await fixtureLayers(join(fixturesDir, 'models/resnet18_narrow.onnx'));
    const b = await fixtureLayers(join(fixturesDir, 'models/mobilenet_v3_small_narrow.onnx'));
    const matrix = syntheticMatrix({
      rowLayers: a,
      colLayers: b,
      rowLabel: 'resnet18_narrow.onnx',
      colLabel: 'mobilenet_v3_small_narrow.onnx',
    });
    await show(page, { kind: 'heatmap', matrix });
    await expect(page.getByTestId('row-axis-title').textContent()).resolves.toBe('rows: model A: resnet18_narrow.onnx');
    await expect(page.getByTestId('col-axis-title').textContent()).resolves.toBe(
      'columns: model B: mobilenet_v3_small_narrow.onnx',
    );
    // The row under the pointer is a layer of model A, the column one of model B.
    const layout = await plotBox(page);
    const centre = cellCentre(layout, { rows: a.length, cols: b.length }, 20, 40);
    await page.mouse.move(centre.pageX, centre.pageY);
    const tip = page.getByTestId('heatmap-tooltip');
    await expect(tip.textContent()).resolves.toContain('row · model A: resnet18_narrow.onnx');
    await expect(tip.getByTestId('tooltip-row').textContent()).resolves.toBe(a[20]!.name);
    await expect(tip.getByTestId('tooltip-col').textContent()).resolves.toBe(b[40]!.name);
  });

  it("marks each row's best match, and only it", async () => {
    await show(page, { kind: 'heatmap', matrix: small, bestMatch: true });
    const layout = await plotBox(page);
    const cells = [];
    for (let r = 0; r < grid.rows; r++)
      for (let c = 0; c < grid.cols; c++) cells.push({ r, c, ...cellCentre(layout, grid, r, c) });
    const pixels = await basePixels(page, cells);
    const argmax = small.matrix.map((row) => {
      let best = -1;
      row.forEach((v, c) => {
        if (v !== null && (best < 0 || v > row[best]!)) best = c;
      });
      return best;
    });
    cells.forEach(({ r, c }, i) => {
      const marked = pixels[i]!.every((v, k) => v === MARKER[k]);
      expect(marked, `cell ${r},${c}`).toBe(c === argmax[r]);
    });

    // Cells a few pixels wide still get a visible mark at each row's best column.
    const wide = syntheticMatrix({
      rowLayers: numberedLayers(60, 'a'),
      colLayers: numberedLayers(240, 'b'),
      rowLabel: 'a.onnx',
      colLabel: 'b.onnx',
      seed: 3,
    });
    await show(page, { kind: 'heatmap', matrix: wide, bestMatch: true });
    const wideLayout = await plotBox(page);
    const best = wide.matrix.map((row) => (row as number[]).indexOf(Math.max(...(row as number[]))));
    const marks = await basePixels(
      page,
      best.map((c, r) => cellCentre(wideLayout, { rows: 60, cols: 240 }, r, c)),
    );
    expect(marks.every((p) => p.every((v, k) => v === MARKER[k]))).toBe(true);
  });

  it('moves the selected cell with the arrow keys and clicks', async () => {
    await show(page, { kind: 'heatmap', matrix: small });
    const announced = page.getByTestId('heatmap-announcement');
    const cellText = (r: number, c: number) =>
      `row ${small.rows.layers[r]!.name}, column ${small.cols.layers[c]!.name}: ${valueAt(small, r, c)?.toFixed(4) ?? 'undefined'}`;
    const layout = await plotBox(page);
    const start = cellCentre(layout, grid, 3, 4);
    await page.mouse.click(start.pageX, start.pageY);
    await expect(announced.textContent()).resolves.toBe(cellText(3, 4));
    await page.mouse.move(5, 5);
    for (const key of ['ArrowRight', 'ArrowRight', 'ArrowDown', 'ArrowLeft']) await page.keyboard.press(key);
    await expect(announced.textContent()).resolves.toBe(cellText(4, 5));
    // The keyboard-driven tooltip follows the selection.
    await expect(page.getByTestId('tooltip-row').textContent()).resolves.toBe(small.rows.layers[4]!.name);
    await expect(page.getByTestId('tooltip-col').textContent()).resolves.toBe(small.cols.layers[5]!.name);
    await page.keyboard.press('Shift+ArrowDown');
    await expect(announced.textContent()).resolves.toBe(cellText(11, 5));
    await page.keyboard.press('End');
    await expect(announced.textContent()).resolves.toBe(cellText(11, 14));
    await page.keyboard.press('Escape');
    await expect(announced.textContent()).resolves.toBe('');
    // Tab reaches the heatmap from the zoom controls (zoom out and reset are disabled at full view).
    await page.getByRole('button', { name: 'Zoom in' }).focus();
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.getAttribute('role'))).resolves.toBe('application');
    await page.keyboard.press('ArrowDown');
    await expect(announced.textContent()).resolves.toBe(cellText(1, 0));
  });

  it('zooms about the pointer, pans by dragging and resets', async () => {
    const big = syntheticMatrix({
      rowLayers: numberedLayers(200, 'a'),
      colLayers: numberedLayers(200, 'b'),
      rowLabel: 'deep-a.onnx',
      colLabel: 'deep-b.onnx',
    });
    await show(page, { kind: 'heatmap', matrix: big });
    const base = page.getByTestId('heatmap-base');
    const layout = await plotBox(page);
    const point = cellCentre(layout, { rows: 200, cols: 200 }, 120, 60);
    await page.mouse.move(point.pageX, point.pageY);
    const before = await page.getByTestId('tooltip-row').textContent();
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, -200);
    const [x0, y0, zoom] = ((await base.getAttribute('data-view')) ?? '').split(' ').map(Number);
    expect(zoom).toBeGreaterThan(2);
    // The cell under the pointer stays under it.
    await page.mouse.move(point.pageX + 0.5, point.pageY);
    await expect(page.getByTestId('tooltip-row').textContent()).resolves.toBe(before);
    await page.mouse.down();
    await page.mouse.move(point.pageX - 120, point.pageY - 80, { steps: 6 });
    await page.mouse.up();
    const [x1, y1] = ((await base.getAttribute('data-view')) ?? '').split(' ').map(Number);
    expect(x1!).toBeGreaterThan(x0!);
    expect(y1!).toBeGreaterThan(y0!);
    // Dragging is not a click: no cell was selected.
    await expect(page.getByTestId('heatmap-announcement').textContent()).resolves.toBe('');
    await saveScreenshot(page, 'heatmap-zoomed');
    await page.getByTestId('reset-zoom').click();
    await expect(base.getAttribute('data-view')).resolves.toBe('0 0 1');
  });
});

describe('matrix view', () => {
  it('plots the selected row and column, and the diagonal', async () => {
    const square = syntheticMatrix({
      rowLayers: numberedLayers(10, 'seed0'),
      colLayers: numberedLayers(10, 'seed1'),
      rowLabel: 'plain-d10-s0.onnx',
      colLabel: 'plain-d10-s1.onnx',
      seed: 5,
    });
    await show(page, { kind: 'matrix', matrix: square });
    await expect(page.getByTestId('row-profile').count()).resolves.toBe(0);
    const layout = await plotBox(page);
    const centre = cellCentre(layout, { rows: 10, cols: 10 }, 6, 2);
    await page.mouse.click(centre.pageX, centre.pageY);
    await expect(page.getByTestId('row-profile').locator('figcaption').textContent()).resolves.toBe(
      `Row: ${square.rows.layers[6]!.name} against every column`,
    );
    await expect(page.getByTestId('column-profile').locator('figcaption').textContent()).resolves.toBe(
      `Column: ${square.cols.layers[2]!.name} against every row`,
    );
    const onDiagonal = square.matrix.filter((row, r) => {
      const max = Math.max(...(row as number[]));
      return row[r] === max;
    }).length;
    await expect(page.getByTestId('diagonal-summary').textContent()).resolves.toContain(
      `${Math.round((onDiagonal / 10) * 1000) / 10}% of rows have their best match on the diagonal`,
    );
  });

  it('exports CSV equal to the matrix and JSON equal to the source', async () => {
    await show(page, { kind: 'matrix', matrix: small });
    await page.getByTestId('export-toggle').click();
    const csv = await download(page, () => page.getByTestId('export-csv').click());
    expect(csv.name).toBe('plain-d12-s0-vs-wide-d15-s0-linear.csv');
    const table = parseCsv(csv.bytes.toString('utf8'));
    expect(table[0]![0]).toBe('rows: model A: plain-d12-s0.onnx \\ columns: model B: wide-d15-s0.onnx');
    expect(table[0]!.slice(1)).toEqual(small.cols.layers.map((l) => l.name));
    expect(table.slice(1).map((row) => row[0])).toEqual(small.rows.layers.map((l) => l.name));
    const numbers = table.slice(1).map((row) => row.slice(1).map((cell) => (cell === '' ? null : Number(cell))));
    expect(numbers).toEqual(small.matrix);

    await page.getByTestId('export-toggle').click();
    const json = await download(page, () => page.getByTestId('export-json').click());
    expect(JSON.parse(json.bytes.toString('utf8'))).toEqual(small);
  });

  it('exports the figure as SVG (one rect per cell in its colour) and as PNG', async () => {
    await show(page, { kind: 'matrix', matrix: small });
    await page.getByTestId('colormap').selectOption('magma');
    await page.getByTestId('export-toggle').click();
    const svg = (await download(page, () => page.getByTestId('export-svg').click())).bytes.toString('utf8');
    const cellGroup = svg.split('<g shape-rendering="crispEdges">')[1]!.split('</g>')[0]!;
    const fills = [...cellGroup.matchAll(/fill="([^"]+)"/g)].map((m) => m[1]);
    expect(fills).toHaveLength(grid.rows * grid.cols);
    small.matrix.flat().forEach((v, i) => {
      expect(fills[i]).toBe(
        v === null
          ? 'url(#undefined-cell)'
          : `#${expectedColour(v, 'magma')
              .map((x) => x.toString(16).padStart(2, '0'))
              .join('')}`,
      );
    });
    expect(svg).toContain('rows: model A: plain-d12-s0.onnx');
    expect(svg).toContain('columns: model B: wide-d15-s0.onnx');
    for (const layer of [...small.rows.layers, ...small.cols.layers]) expect(svg).toContain(`>${layer.name}</text>`);
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);

    await page.getByTestId('export-toggle').click();
    const png = (await download(page, () => page.getByTestId('export-png').click())).bytes;
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    // IHDR: the figure at twice its SVG size.
    expect(png.readUInt32BE(16)).toBe(width * 2);
  });
});

describe('the Export menu command', () => {
  it('opens the export choices of the matrix on screen, and reports when there is none', async () => {
    await show(page, { kind: 'matrix', matrix: small });
    await expect(page.getByTestId('export-csv').count()).resolves.toBe(0);
    expect(await page.evaluate(() => window.harness.requestExport())).toBe(true);
    await expect(page.getByTestId('export-csv').isVisible()).resolves.toBe(true);
    // The first choice has the focus, so the keyboard can go on from the menu command.
    await expect(page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).resolves.toBe('export-png');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('export-csv').count()).resolves.toBe(0);
    await show(page, { kind: 'layers', layers: [] });
    expect(await page.evaluate(() => window.harness.requestExport())).toBe(false);
  });
});

describe('200 × 200 heatmap timings (reported, not asserted)', () => {
  it('measures first paint, hover and zoom, and still hovers the right cell', async () => {
    const size = 200;
    const big = syntheticMatrix({
      rowLayers: numberedLayers(size, 'a'),
      colLayers: numberedLayers(size, 'b'),
      rowLabel: 'deep-a.onnx',
      colLabel: 'deep-b.onnx',
      withIntervals: true,
    });
    const paints = [];
    for (let i = 0; i < 5; i++) paints.push(await show(page, { kind: 'heatmap', matrix: big }));
    const panel = await show(page, { kind: 'matrix', matrix: big });
    const layout = await plotBox(page);
    const cells = Array.from({ length: 150 }, (_, i) => ({ row: (i * 7) % size, col: (i * 13) % size }));
    const points = cells.map(({ row, col }) => cellCentre(layout, { rows: size, cols: size }, row, col));
    const hovers = await page.evaluate(
      (pts) => window.harness.timeHovers(pts),
      points.map((p) => ({ x: p.pageX, y: p.pageY })),
    );
    const last = cells.at(-1)!;
    await expect(page.getByTestId('tooltip-row').textContent()).resolves.toBe(big.rows.layers[last.row]!.name);
    await expect(page.getByTestId('tooltip-col').textContent()).resolves.toBe(big.cols.layers[last.col]!.name);
    const zooms = await page.evaluate(
      (pts) => window.harness.timeZooms(pts),
      points.slice(0, 12).map((p) => ({ x: p.pageX, y: p.pageY })),
    );
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    const script = hovers.map((h) => h.script);
    const withLayout = hovers.map((h) => h.layout);
    console.log(
      [
        `heatmap 200×200 in headless Chromium (${paints.length} mounts, ${hovers.length} hovers):`,
        `  first paint (mount + draw, then next frame): median ${ms(
          percentile(
            paints.map((p) => p.mountMs),
            50,
          ),
        )} / ${ms(
          percentile(
            paints.map((p) => p.firstFrameMs),
            50,
          ),
        )}, first of all ${ms(paints[0]!.firstFrameMs)}`,
        `  full matrix view with line charts: ${ms(panel.mountMs)} / ${ms(panel.firstFrameMs)}`,
        `  hover update (handler + overlay + tooltip): p50 ${ms(percentile(script, 50))}, p95 ${ms(percentile(script, 95))}, max ${ms(Math.max(...script))}`,
        `  hover update incl. tooltip layout: p50 ${ms(percentile(withLayout, 50))}, p95 ${ms(percentile(withLayout, 95))}`,
        `  wheel zoom step (base redraw): p50 ${ms(percentile(zooms, 50))}, max ${ms(Math.max(...zooms))}`,
      ].join('\n'),
    );
    await page.getByTestId('reset-zoom').click();
    const pick = cellCentre(layout, { rows: size, cols: size }, 80, 95);
    await page.mouse.click(pick.pageX, pick.pageY);
    await saveScreenshot(page, 'heatmap-200');
  });
});

describe('under the app CSP', () => {
  it('caused no Content-Security-Policy violation in any of the views', async () => {
    expect(await page.evaluate(() => window.harness.violations())).toEqual([]);
  });
});
