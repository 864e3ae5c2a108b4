/**
 * Results you can publish, in the real browser UI over the real server: a seeds run's ordered pair
 * (3, 1) opened from the per-pair table and its figure exported (the bytes `runs export` writes,
 * long model labels inside it in the real font); the standard deviation on its own scale; a probe
 * set one model cannot take blocking Run with nothing written to the history; layers picked in the
 * model graph; runs found by search and tag, and three compared on one scale; and the form's and
 * the run view's glitches (summary, "1 is chosen", the filter's placeholder, one progress number,
 * the cancel message).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ExperimentResult, ExperimentSpec } from '../../app/common/contract.js';
import { pageOnServer } from '../helpers/browser.js';
import { runExperimentToEnd, zoo } from '../helpers/experiments.js';
import { fixturesDir } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basePixels, cellCentre, download, expectedColour, plotBox } from './harness/page-helpers.js';

// The slow run below (the 8× model on 5000 images) would write 5.5 GiB, over the default cache
// limit on most disks: it must run long enough to be watched, not be refused.
const ui = pageOnServer(
  () => startTestServer({ cacheLimitBytes: 64 * 2 ** 30 }),
  (t) => t.server.urlWithToken,
);
let t: TestServer;
let page: Page;

/** Long labels, as a researcher names checkpoints: the axis titles must not be cut. */
const seedLabel = (i: number) => `vgg-style CNN, Fashion-MNIST, 30 epochs, lr 0.05, seed ${i}.onnx`;
const seeds = [0, 1, 2, 3].map((i) => ({ path: zoo(`plain-d1-s${i}`), label: seedLabel(i) }));
let seedsRunId = '';
let result: ExperimentResult;
const quickRuns: string[] = [];

async function run(spec: ExperimentSpec): Promise<string> {
  for (const m of spec.models) await t.api.openModel({ path: m.path });
  const experiment = await t.api.createExperiment({ spec });
  const details = await runExperimentToEnd(t.api, experiment.id);
  expect(details.run.status).toBe('done');
  return details.run.id;
}

beforeAll(async () => {
  ({ server: t, page } = ui);
  seedsRunId = await run({
    name: 'four seeds',
    kind: 'seeds',
    models: seeds,
    probe: 'fashion-mnist:150',
    layers: 'op:Relu',
    measures: ['linear'],
  });
  result = (await t.api.getRun({ runId: seedsRunId })).result!;
  for (const [i, probe] of ['fashion-mnist:60', 'fashion-mnist:90'].entries()) {
    quickRuns.push(
      await run({
        name: `d1 with itself, ${probe}`,
        kind: 'self',
        models: [{ path: zoo('plain-d1-s0') }],
        probe,
        layers: 'op:Relu',
        measures: ['linear'],
        options: { bootstrap: { samples: 20 + i, seed: i } },
      }),
    );
  }
  await page.reload();
}, 240_000);

const pairMatrix = (rows: number, cols: number) =>
  result.matrices.find((m) => m.rows.model === rows && m.cols.model === cols)!;
const percent = (f: number) => `${(Math.round(f * 1000) / 10).toFixed(1)}%`;

async function openRun(runId: string) {
  await page.goto(`${t.server.url}#/runs/${runId}`);
  await page.locator(`[data-testid="run-detail"][data-run-id="${runId}"] [data-testid="run-done"]`).waitFor();
}

describe('a seeds run’s pairs', () => {
  it('opens seed pair (3, 1) from the per-pair table, with the pair’s own sanity check', async () => {
    await openRun(seedsRunId);
    const summary = result.seeds![0]!;
    // The headline and the diagonal panel state one number, by one definition.
    await expect(page.getByTestId('seeds-accuracy').textContent()).resolves.toBe(percent(summary.accuracy));
    await expect(page.getByTestId('diagonal-summary').textContent()).resolves.toContain(percent(summary.accuracy));

    const pair = summary.accuracyPerPair.find((p) => p.rowModel === 3 && p.colModel === 1)!;
    const cell = page.getByTestId('seeds-pair-3-1');
    await expect(cell.textContent()).resolves.toBe(percent(pair.accuracy));
    await cell.click();
    await expect(page.getByTestId('row-axis-title').textContent()).resolves.toBe(`rows: model D: ${seedLabel(3)}`);
    await expect(page.getByTestId('col-axis-title').textContent()).resolves.toBe(`columns: model B: ${seedLabel(1)}`);
    await expect(page.getByTestId('diagonal-summary').textContent()).resolves.toContain(percent(pair.accuracy));
    // Its cells are that pair's matrix.
    const m = pairMatrix(3, 1);
    const n = m.matrix.length;
    await page.getByTestId('heatmap').scrollIntoViewIfNeeded();
    const layout = await plotBox(page);
    const cells = [
      [0, 0],
      [n - 1, 1],
      [1, n - 1],
    ] as const;
    const pixels = await basePixels(
      page,
      cells.map(([r, c]) => cellCentre(layout, { rows: n, cols: n }, r, c)),
    );
    cells.forEach(([r, c], i) => expect(pixels[i]).toEqual(expectedColour(m.matrix[r]![c]!, 'viridis')));
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, 'app-seeds-pair');
  });

  it('exports its figure: the bytes runs export writes, in the chosen style, nothing cut', async () => {
    await page.getByTestId('export-toggle').click();
    await page.getByTestId('figure-style-toggle').click();
    await page.getByTestId('figure-axis-labels').selectOption('indices');
    await page.getByTestId('figure-origin').selectOption('bottom');
    await page.getByTestId('figure-width').fill('480');
    await page.getByTestId('figure-preview').waitFor();
    const svg = await download(page, () => page.getByTestId('export-svg').click());
    const engine = await t.api.exportRun({
      runId: seedsRunId,
      format: 'svg',
      pair: { rows: 3, cols: 1, measure: 0 },
      figure: {
        colormap: 'viridis',
        range: 'unit',
        bestMatch: false,
        axisLabels: 'indices',
        origin: 'bottom',
        width: 480,
      },
    });
    const text = svg.bytes.toString('utf8');
    expect(text).toBe(engine.data);
    expect(svg.name).toBe(engine.fileName);
    expect(text).toContain('width="480"');
    // The title names both models (wrapped over lines), and the measure.
    const written = [...text.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((x) => x[1]).join(' ');
    expect(written).toContain('linear CKA');
    for (const i of [3, 1]) expect(written.replace(/ /g, '')).toContain(seedLabel(i).replace(/ /g, ''));
    const cut = await page.evaluate((markup) => {
      const holder = document.createElement('div');
      holder.innerHTML = markup;
      document.body.append(holder);
      const root = holder.querySelector('svg')!;
      const origin = root.getBoundingClientRect();
      const bad = Array.from(root.querySelectorAll('text'))
        .map((el) => ({ text: el.textContent, box: el.getBoundingClientRect() }))
        .filter(
          ({ box }) =>
            box.left < origin.left - 0.5 ||
            box.top < origin.top - 0.5 ||
            box.right > origin.right + 0.5 ||
            box.bottom > origin.bottom + 0.5,
        )
        .map((b) => b.text);
      holder.remove();
      return bad;
    }, text);
    expect(cut).toEqual([]);
    // Back to the default style for the other tests (the style section stays open).
    await page.getByTestId('export-toggle').click();
    await expect(page.getByTestId('figure-style-toggle').getAttribute('aria-expanded')).resolves.toBe('true');
    await page.getByTestId('figure-axis-labels').selectOption('names');
    await page.getByTestId('figure-origin').selectOption('top');
    await page.getByTestId('figure-width').fill('');
    await page.keyboard.press('Escape');
  });

  it('shows the standard deviation on its own scale, with no best match', async () => {
    await page.getByTestId('seeds-show').selectOption('std');
    await expect(page.getByTestId('scale-data').getAttribute('aria-checked')).resolves.toBe('true');
    await expect(page.getByTestId('best-match').isDisabled()).resolves.toBe(true);
    const std = result.seeds![0]!.std;
    const values = std.flat().filter((v): v is number => v !== null);
    const [lo, hi] = [Math.min(...values), Math.max(...values)];
    expect(hi).toBeLessThan(0.5);
    const n = std.length;
    await page.getByTestId('heatmap').scrollIntoViewIfNeeded();
    const layout = await plotBox(page);
    const cells = [
      [0, 1],
      [n - 1, 0],
      [1, 1],
    ] as const;
    const pixels = await basePixels(
      page,
      cells.map(([r, c]) => cellCentre(layout, { rows: n, cols: n }, r, c)),
    );
    cells.forEach(([r, c], i) => expect(pixels[i]).toEqual(expectedColour(std[r]![c]!, 'viridis', lo, hi)));
    await expect(page.getByTestId('diagonal-summary').textContent()).resolves.toContain('no best match in a spread');
    await page.getByTestId('seeds-show').selectOption('mean');
    await expect(page.getByTestId('scale-unit').getAttribute('aria-checked')).resolves.toBe('true');
  });
});

describe('the experiment form', () => {
  it('checks the probe set against every model and keeps Run off while one does not fit', async () => {
    const before = { runs: (await t.api.listRuns({})).length, experiments: (await t.api.listExperiments({})).length };
    const other = join(fixturesDir, 'models/bn_cnn.onnx');
    await page.goto(`${t.server.url}#/models`);
    await page.getByTestId('model-path').fill(other);
    await page.getByTestId('open-model').click();
    await page.getByTestId('model-summary').locator('h2', { hasText: 'bn_cnn.onnx' }).waitFor();
    await page.getByTestId('use-model').click();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('kind-pair').click();
    await page.getByTestId('add-model').selectOption(zoo('plain-d1-s0'));
    // The model is read, then listed.
    await page.locator('[data-testid="builder-models"] li').first().waitFor();
    // One model of a pair: the problem says "1 is chosen".
    await page.getByTestId('run-experiment').click();
    await expect(page.getByTestId('builder-problems').textContent()).resolves.toContain('1 is chosen');
    await page.getByTestId('add-model').selectOption({ label: 'bn_cnn.onnx' });
    await page.getByTestId('probe-n').fill('100');
    const states = () =>
      page.$$eval('[data-testid="probe-fit"]', (rows) => rows.map((r) => r.getAttribute('data-state')));
    await expect.poll(states, { timeout: 20_000 }).toEqual(['fits', 'misfit']);
    await expect(page.getByTestId('probe-fit-reason').textContent()).resolves.toMatch(
      /gives examples of shape \[1, 28, 28\], but the model input 'input' takes \[3, 16, 16\]/,
    );
    await expect(page.getByTestId('run-experiment').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('builder-blocked').textContent()).resolves.toContain('every model must take');
    await page.getByTestId('probe-fits').evaluate((list) => list.scrollIntoView({ block: 'center' }));
    await saveScreenshot(page, 'app-probe-check');
    // Nothing was written to the history.
    expect((await t.api.listRuns({})).length).toBe(before.runs);
    expect((await t.api.listExperiments({})).length).toBe(before.experiments);

    // The second model replaced by one that fits: Run comes on; the summary names the bootstrap.
    await page.getByRole('button', { name: 'Remove bn_cnn.onnx' }).click();
    await page.getByTestId('add-model').selectOption(zoo('plain-d1-s1'));
    await expect.poll(states, { timeout: 20_000 }).toEqual(['fits', 'fits']);
    await page.getByLabel('Bootstrap samples').fill('200');
    await page.getByLabel('Bootstrap seed').fill('3');
    await expect(page.getByTestId('builder-summary').textContent()).resolves.toContain(
      'bootstrap: 200 samples, seed 3',
    );
    await expect(page.getByTestId('run-experiment').isEnabled()).resolves.toBe(true);
  });
});

describe('the model graph', () => {
  it('picks layers by clicking nodes; the table and the experiment get the same choice', async () => {
    await page.goto(`${t.server.url}#/models`);
    await page.locator(`[data-testid="library"] button[title="${zoo('plain-d1-s2')}"]`).click();
    await page.getByTestId('model-summary').locator('h2', { hasText: 'plain-d1-s2.onnx' }).waitFor();
    // The filter's placeholder fits its box.
    const filter = page.getByTestId('layer-filter');
    const room = await filter.evaluate((input: HTMLInputElement) => {
      const style = getComputedStyle(input);
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const inner = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return inner - ctx.measureText(input.placeholder).width;
    });
    expect(room).toBeGreaterThan(0);
    await page.getByTestId('select-none').click();
    await page.getByTestId('layers-as-graph').click();
    await page.locator('[data-testid="graph-frame"][data-placed="yes"]').waitFor({ timeout: 30_000 });
    const summary = await t.api.inspectModel({ path: zoo('plain-d1-s2') });
    const relus = summary.layers.filter((l) => l.op === 'Relu');
    expect(relus.length).toBeGreaterThan(1);
    // Each found by its name (Enter brings it into view), then clicked.
    for (const relu of relus) {
      await page.getByTestId('graph-search').fill(relu.name);
      await page.getByTestId('graph-search').press('Enter');
      await page.locator(`[data-testid="graph-node"][data-tensors="${relu.tensor}"]`).click();
    }
    await expect(page.getByTestId('graph-status').textContent()).resolves.toContain(`${relus.length} layers chosen`);
    const chosen = page.locator('[data-testid="graph-node"].on');
    await expect(chosen.count()).resolves.toBe(relus.length);
    // Find the ReLUs, and drop one layer by keyboard.
    await page.getByTestId('graph-search').fill('relu');
    await expect(page.getByTestId('graph-matches').textContent()).resolves.toBe(`${relus.length} matches`);
    await page.getByTestId('graph-search').press('Enter');
    await page.locator(`[data-testid="graph-node"][data-tensors="${relus[0]!.tensor}"]`).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('graph-search').fill('');
    await saveScreenshot(page, 'app-graph');
    await page.getByTestId('layers-as-table').click();
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe(
      relus
        .slice(1)
        .map((l) => l.tensor)
        .join(','),
    );
    await page.locator(`[data-testid="graph-node"]`).first().waitFor({ state: 'detached' });
  });
});

describe('the history', () => {
  it('finds runs by search and tag, keeps a note, and compares three on one scale', async () => {
    await openRun(quickRuns[0]!);
    await page.getByTestId('run-tag-input').fill('paper fig-2');
    await page.getByTestId('run-tag-input').press('Enter');
    await expect.poll(() => page.getByTestId('run-tag').allTextContents()).toEqual(['fig-2×', 'paper×']);
    await page.getByTestId('run-note').fill('the 60-image baseline');
    await page.getByTestId('run-note').blur();
    await expect
      .poll(async () => (await t.api.getRun({ runId: quickRuns[0]! })).run.note)
      .toBe('the 60-image baseline');
    expect((await t.api.getRun({ runId: quickRuns[0]! })).run.tags).toEqual(['fig-2', 'paper']);

    const listed = () => page.$$eval('[data-testid="run-list"] li', (items) => items.map((li) => li.dataset.runId));
    await page.getByTestId('run-search').fill('tag:paper');
    await expect.poll(listed).toEqual([quickRuns[0]]);
    await page.getByTestId('run-search').fill('baseline');
    await expect.poll(listed).toEqual([quickRuns[0]]);
    await page.getByTestId('run-search').fill('four seeds');
    await expect.poll(listed).toEqual([seedsRunId]);
    await page.getByTestId('run-search').fill('no such run');
    await page.getByTestId('run-search-empty').waitFor();
    await page.getByTestId('run-search').fill('');
    await expect.poll(async () => (await listed()).length).toBe(3);

    for (const id of [seedsRunId, ...quickRuns]) {
      await page.locator(`[data-testid="run-list"] li[data-run-id="${id}"] input[type="checkbox"]`).check();
    }
    await expect(page.getByTestId('compare-runs').textContent()).resolves.toBe('Compare 3 runs');
    await page.getByTestId('compare-runs').click();
    await page.getByTestId('compare-run-2').waitFor();
    await expect(page.getByTestId('compare-view').locator('h2').textContent()).resolves.toBe('Compare 3 runs');
    // The self runs' matrices match cell for cell: run 1 (the seeds mean) has other layers' names.
    await page.getByTestId('compare-against').waitFor();
    await saveScreenshot(page, 'app-compare-runs');
  });
});

describe('a run while it goes', () => {
  it('shows one progress number in the chip and the panel after a reload, and says how a cancel ended', async () => {
    const spec: ExperimentSpec = {
      name: 'slow to cancel',
      kind: 'self',
      models: [{ path: zoo('plain-d8-s0') }],
      probe: 'fashion-mnist:5000',
      layers: 'op:Relu',
      measures: ['linear'],
    };
    await t.api.openModel({ path: zoo('plain-d8-s0') });
    const experiment = await t.api.createExperiment({ spec });
    const going = new Promise<void>((resolve) => {
      const off = t.api.subscribe((e) => {
        if (e.type === 'progress' && e.progress.fraction > 0.05) {
          off();
          resolve();
        }
      });
    });
    const runInfo = await t.api.runExperiment({ experimentId: experiment.id });
    await going;
    // A page opened mid-run: the chip and the box read one report.
    await page.goto(`${t.server.url}#/runs/${runInfo.id}`);
    await page.getByTestId('activity').waitFor();
    await expect
      .poll(async () => {
        const [chip, panel] = await Promise.all([
          page.getByTestId('activity-percent').textContent(),
          page.getByTestId('run-percent').textContent(),
        ]);
        return chip === panel && chip !== '0%' ? chip : `chip ${chip}, panel ${panel}`;
      })
      .toMatch(/^\d+%$/);
    await page.getByTestId('cancel-run').click();
    await page.locator('[data-testid="run-status"][data-status="cancelled"]').waitFor({ timeout: 60_000 });
    const reason = (await page.getByTestId('run-cancel-reason').textContent())!.replace(/\s+/g, ' ').trim();
    expect(reason).toMatch(
      /^Cancelled while (preparing|extracting activations|computing Grams|computing similarities); (no pair of models was finished|the \d+ finished pairs? of models (was|were) kept)\.( They are shown below\.)?$/,
    );
    expect(reason).not.toMatch(/kernels|No pair was finished/);
  }, 120_000);
});
