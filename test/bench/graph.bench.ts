/**
 * `npm run bench -- graph`: the graph view's layout (elkjs in a worker) in headless Chromium,
 * through the component harness, on ResNet-like graphs of 250 and 2,000 nodes.
 *
 * Per size: the layout in a fresh worker (the baseline: a worker started for the layout), in the
 * view's warmed worker (as after the models view warmed it; median of 3) and their ratio; ELK's
 * default options in the warm worker (what the view's options change); the whole view, mount →
 * drawn, warm; and the longest gap between the page's frames meanwhile (the page never waits for
 * the layout). Target: a 250-node graph in under 1 s.
 */
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { syntheticGraph } from '../e2e/harness/graphs.js';
import { percentile, show } from '../e2e/harness/page-helpers.js';
import { serveHarness } from '../e2e/harness/serve.js';

const SIZES = [250, 2000];
const REPEATS = 3;
/** ELK's layered defaults, with the view's direction and spacing: what the options save. */
const ELK_DEFAULTS = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.spacing.nodeNode': '18',
  'elk.layered.spacing.nodeNodeBetweenLayers': '26',
};

async function freshPage(url: string, browser: Awaited<ReturnType<typeof launchBrowser>>): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(url);
  await page.waitForFunction(() => 'harness' in window);
  return page;
}

export default async function run(): Promise<void> {
  const harness = await serveHarness();
  const browser = await launchBrowser();
  const ms = (v: number) => `${Math.round(v)} ms`.padStart(9);
  try {
    console.log(
      `${'nodes'.padEnd(7)}${'fresh'.padStart(9)}${'warm'.padStart(9)}${'ratio'.padStart(7)}${'ELK defaults'.padStart(14)}${'view'.padStart(9)}${'max frame gap'.padStart(15)}`,
    );
    for (const size of SIZES) {
      const json = JSON.stringify(syntheticGraph(size));
      const cold = await freshPage(harness.url, browser);
      const coldMs = await cold.evaluate((j) => window.harness.timeGraphLayout(j, null), json);
      await cold.close();

      const page = await freshPage(harness.url, browser);
      await page.evaluate(() => window.harness.warmGraphLayout());
      const time = async (options: Record<string, string> | null) => {
        const times: number[] = [];
        for (let i = 0; i < REPEATS; i++) {
          times.push(await page.evaluate(({ j, o }) => window.harness.timeGraphLayout(j, o), { j: json, o: options }));
        }
        return percentile(times, 50);
      };
      const warm = await time(null);
      const baseline = await time(ELK_DEFAULTS);
      const { graph, layers } = syntheticGraph(size);
      const started = Date.now();
      await show(page, { kind: 'graph', graph, layers });
      const frames = await page.evaluate(() => window.harness.longestFrameGap(300_000));
      const view = Date.now() - started;
      await page.close();
      console.log(
        `${String(size).padEnd(7)}${ms(coldMs)}${ms(warm)}${`${(coldMs / warm).toFixed(1)}×`.padStart(7)}${ms(baseline).padStart(14)}${ms(view)}${ms(frames.longestGapMs).padStart(15)}`,
      );
    }
  } finally {
    await browser.close();
    await harness.close();
  }
}
