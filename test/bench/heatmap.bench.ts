/**
 * `npm run bench -- heatmap`: the canvas heatmap against chartjs-chart-matrix in headless
 * Chromium, on the same matrices, in one run (the component harness, built with Vite).
 *
 * Per size: time from mounting to the first frame after it (median of 5), ours and the baseline,
 * and their ratio; then, ours only, the hover update (event → overlay + tooltip) and a wheel-zoom
 * redraw on 200 × 200. Targets from issue 7: < 200 ms first paint, < 16 ms per hover update.
 */
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { numberedLayers, syntheticMatrix } from '../e2e/harness/matrices.js';
import { cellCentre, percentile, plotBox, show } from '../e2e/harness/page-helpers.js';
import { serveHarness } from '../e2e/harness/serve.js';
import type { HarnessView } from '../e2e/harness/views.js';

const SIZES = [12, 50, 100, 200];
const REPEATS = 5;

function matrixOf(size: number) {
  return syntheticMatrix({
    rowLayers: numberedLayers(size, 'a'),
    colLayers: numberedLayers(size, 'b'),
    rowLabel: 'a.onnx',
    colLabel: 'b.onnx',
  });
}

async function firstFrame(page: Page, view: HarnessView): Promise<number> {
  const times: number[] = [];
  await show(page, view); // warm-up: code paths compiled, fonts loaded
  for (let i = 0; i < REPEATS; i++) times.push((await show(page, view)).firstFrameMs);
  return percentile(times, 50);
}

export default async function run(): Promise<void> {
  const harness = await serveHarness();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    await page.goto(harness.url);
    await page.waitForFunction(() => 'harness' in window);
    const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(10);
    console.log('first paint (mount → next frame, median of 5)');
    console.log(`${'size'.padEnd(10)}${'canvas'.padStart(10)}${'chartjs-matrix'.padStart(16)}${'ratio'.padStart(8)}`);
    for (const size of SIZES) {
      const matrix = matrixOf(size);
      const ours = await firstFrame(page, { kind: 'heatmap', matrix });
      const baseline = await firstFrame(page, { kind: 'chartjs-matrix', matrix });
      console.log(
        `${`${size}×${size}`.padEnd(10)}${ms(ours)}${ms(baseline).padStart(16)}${`${(baseline / ours).toFixed(1)}×`.padStart(8)}`,
      );
    }

    const size = 200;
    await show(page, { kind: 'heatmap', matrix: matrixOf(size) });
    const layout = await plotBox(page);
    const points = Array.from({ length: 300 }, (_, i) =>
      cellCentre(layout, { rows: size, cols: size }, (i * 7) % size, (i * 13) % size),
    ).map((p) => ({ x: p.pageX, y: p.pageY }));
    const hovers = (await page.evaluate((pts) => window.harness.timeHovers(pts), points)).map((h) => h.layout);
    const zooms = await page.evaluate((pts) => window.harness.timeZooms(pts), points.slice(0, 20));
    console.log(
      `\ncanvas heatmap ${size}×${size}, ${hovers.length} hovers: p50 ${ms(percentile(hovers, 50)).trim()}, p95 ${ms(percentile(hovers, 95)).trim()}, max ${ms(Math.max(...hovers)).trim()} (target < 16 ms)`,
    );
    console.log(
      `wheel zoom step (base layer redrawn): p50 ${ms(percentile(zooms, 50)).trim()}, max ${ms(Math.max(...zooms)).trim()}`,
    );
  } finally {
    await browser.close();
    await harness.close();
  }
}
