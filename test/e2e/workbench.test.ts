/**
 * A new user's path through the workbench in a real browser over the real server (issue 7, "Done
 * when"): open two shipped models, build a pair experiment, run it and watch its progress, read a
 * cell of the heatmap and find the same number in the CLI's output, export CSV/JSON/.npy and check
 * them against each other, run the seeds preset and check its sanity-check accuracy, browse while a
 * run goes and cancel it, rename, compare and delete runs, and see a run fail with the engine's
 * message while the app stays usable. Screenshots of each main view go to test/.artifacts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Locator, Page } from 'playwright-core';
import type { ExperimentResult, RunInfo, SimilarityMatrix } from '../../app/common/contract.js';
import { pageOnServer } from '../helpers/browser.js';
import { cliBin, repoRoot } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { cellCentre, download, parseCsv, plotBox } from './harness/page-helpers.js';

const exec = promisify(execFile);
const zoo = (name: string) => join(repoRoot, 'models', 'zoo', `${name}.onnx`);
const scratch = mkdtempSync(join(tmpdir(), 'ckawb-e2e-'));

const cspViolations: string[] = [];
const ui = pageOnServer(
  startTestServer,
  (t) => t.server.urlWithToken,
  async (page) => {
    await page.exposeFunction('reportCspViolation', (text: string) => cspViolations.push(text));
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { reportCspViolation(t: string): void }).reportCspViolation(
          `${e.violatedDirective}: ${e.blockedURI}`,
        ),
      ),
    );
  },
);
let t: TestServer;
let page: Page;
beforeAll(() => {
  ({ server: t, page } = ui);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/* ------------------------------------------------------------------------------------------ */

async function nav(view: 'models' | 'experiment' | 'runs') {
  await page.getByTestId(`nav-${view}`).click();
}

/** Clicks a model in the library (shipped or opened) and waits for its summary. */
async function showModel(path: string) {
  await nav('models');
  await page.locator(`[data-testid="library"] button[title="${path}"]`).click();
  await page
    .getByTestId('model-summary')
    .locator('h2', { hasText: path.split('/').pop()! })
    .waitFor();
}

function runDetail(): Locator {
  return page.getByTestId('run-detail');
}

async function currentRunId(): Promise<string> {
  return (await runDetail().getAttribute('data-run-id'))!;
}

async function waitForStatus(status: RunInfo['status'], timeout = 90_000) {
  await page.locator(`[data-testid="run-status"][data-status="${status}"]`).waitFor({ timeout });
}

/** What the run's progress area showed at one render. */
interface ProgressRender {
  runId: string;
  status: string;
  stage: string;
  percent: string;
  message: string;
  eta: string;
  rate: string;
  partial: string;
  heatmap: boolean;
  /** The progress box's place and size. */
  rect: string;
  /** The bar's height and how full the render set it (its fill's scaleX). */
  bar: { height: number; filled: number } | null;
}

/**
 * Records, in the page, what the progress area shows after every change of the DOM (every render:
 * a MutationObserver's callback runs once per flush), skipping renders that change none of it.
 * Install it before clicking Run; `stop()` returns the renders in order.
 */
async function recordProgressRenders(): Promise<{ stop(): Promise<ProgressRender[]> }> {
  await page.evaluate(() => {
    const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? '';
    const renders: unknown[] = [];
    let last = '';
    const sample = () => {
      const box = document.querySelector('[data-testid="run-status"]');
      if (!box) return;
      const r = box.getBoundingClientRect();
      const bar = document.querySelector('[data-testid="run-progress"]');
      const fill = bar?.firstElementChild as HTMLElement | null | undefined;
      const scale = /scaleX\(([^)]+)\)/.exec(fill?.style.transform ?? '');
      const render = {
        runId: document.querySelector('[data-testid="run-detail"]')?.getAttribute('data-run-id') ?? '',
        status: box.getAttribute('data-status') ?? '',
        stage: box.querySelector('li[aria-current="step"]')?.textContent?.trim() ?? '',
        percent: text('run-percent'),
        message: text('run-message'),
        eta: text('run-eta'),
        rate: text('run-rate'),
        partial: text('result-partial'),
        heatmap: document.querySelector('[data-testid="heatmap-base"]') !== null,
        rect: `${r.x},${r.y},${r.width},${r.height}`,
        bar: bar && scale ? { height: bar.getBoundingClientRect().height, filled: Number(scale[1]) } : null,
      };
      const key = JSON.stringify(render);
      if (key === last) return;
      last = key;
      renders.push(render);
    };
    const observer = new MutationObserver(sample);
    observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    (window as unknown as { progressRecorder: unknown }).progressRecorder = { observer, renders };
  });
  return {
    stop: () =>
      page.evaluate(() => {
        const w = window as unknown as { progressRecorder?: { observer: MutationObserver; renders: unknown[] } };
        const recorder = w.progressRecorder!;
        recorder.observer.disconnect();
        delete w.progressRecorder;
        return recorder.renders as ProgressRender[];
      }),
  };
}

async function python(code: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('/usr/bin/python3', ['-c', code, ...args], { timeout: 60_000 });
  return stdout;
}

/** Over all ordered pairs of seeds: how often a layer's best match (row-wise and column-wise) is itself. */
function sanityAccuracy(matrices: SimilarityMatrix[]): number {
  let hits = 0;
  let total = 0;
  for (const m of matrices) {
    const n = m.matrix.length;
    for (let i = 0; i < n; i++) {
      const row = m.matrix[i]!.map((v) => v ?? -Infinity);
      const col = m.matrix.map((r) => r[i] ?? -Infinity);
      hits += Number(row.indexOf(Math.max(...row)) === i) + Number(col.indexOf(Math.max(...col)) === i);
      total += 2;
    }
  }
  return hits / total;
}

/* ------------------------------------------------------------------------------------------ */

const A = zoo('plain-d1-s0');
const B = zoo('plain-d2-s0');
let pairRunId = '';
let pairResult: ExperimentResult;

describe('a new user’s path', () => {
  it('opens two shipped models from the library and adds them to an experiment', async () => {
    const zooJson = JSON.parse(readFileSync(join(repoRoot, 'models/zoo.json'), 'utf8')) as {
      models: { file: string }[];
      transformers: { file: string }[];
    };
    const shipped = [...zooJson.models, ...zooJson.transformers];
    await expect
      .poll(() => page.$$eval('[data-testid="library-zoo"] li .file', (s) => s.map((e) => e.textContent)))
      .toEqual(shipped.map((m) => m.file.split('/').pop()));

    await showModel(A);
    await page.getByTestId('select-op').selectOption('Relu');
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe('op:Relu');
    await page.getByTestId('use-model').click();
    await showModel(B);
    // Opened models move to "Recently opened", newest first.
    await expect
      .poll(() => page.$$eval('[data-testid="library-recent"] li .file', (s) => s.map((e) => e.textContent)))
      .toEqual(['plain-d2-s0.onnx', 'plain-d1-s0.onnx']);
    await saveScreenshot(page, 'app-models');
    await page.getByTestId('use-model').click();
    await expect(page.getByTestId('nav-experiment').textContent()).resolves.toContain('2');
  });

  it('builds a pair experiment: layers per model, a checked probe set, a measure', async () => {
    const layerSelects = page.getByTestId('layer-select');
    await expect(layerSelects.count()).resolves.toBe(2);
    // A's choice came from its layer table (op:Relu); B's is made here.
    await expect(layerSelects.nth(0).inputValue()).resolves.toBe('op:Relu');
    await layerSelects.nth(1).selectOption('op:Relu');
    // A probe file typed as a path is read by the engine, then checked against each model's input: one that fits…
    const fits = join(scratch, 'probe-6.npy');
    await python(
      'import sys,numpy as np; np.save(sys.argv[1], np.random.default_rng(0).random((6,1,28,28), dtype=np.float32))',
      fits,
    );
    await page.getByLabel('Array file (.npy / .npz)').check();
    await page.getByTestId('probe-path').fill(fits);
    await expect(page.getByTestId('probe-n-checked').textContent({ timeout: 15_000 })).resolves.toBe('6');
    await expect(page.getByTestId('probe-status').textContent()).resolves.toContain('[1, 28, 28]');
    await expect
      .poll(() => page.$$eval('[data-testid="probe-fit"]', (rows) => rows.map((r) => r.getAttribute('data-state'))), {
        timeout: 20_000,
      })
      .toEqual(['fits', 'fits']);
    // …and one whose examples have another shape: the engine's message for each model, in place, and no Run.
    await page.getByTestId('probe-path').fill(join(repoRoot, 'test/fixtures/activations/zoo/probe/fm-mini-images.npy'));
    await expect(
      page
        .locator('[data-testid="probe-fit"][data-state="misfit"] [data-testid="probe-fit-reason"]')
        .first()
        .textContent({ timeout: 15_000 }),
    ).resolves.toMatch(/gives examples of shape \[28, 28\], but the model input 'input' takes \[1, 28, 28\]/);
    await expect(page.getByTestId('run-experiment').isDisabled()).resolves.toBe(true);
    // The built-in set, 200 images.
    await page.getByLabel('Fashion-MNIST (built in)').check();
    await page.getByTestId('probe-n').fill('200');
    // The engine checks the probe against model A's input.
    await expect(page.getByTestId('probe-n-checked').textContent({ timeout: 15_000 })).resolves.toBe('200');
    await expect(page.getByTestId('probe-status').textContent()).resolves.toContain('[1, 28, 28]');
    await expect(page.getByTestId('experiment-name').getAttribute('placeholder')).resolves.toBe(
      'plain-d1-s0 vs plain-d2-s0',
    );
    await saveScreenshot(page, 'app-experiment');
  });

  it('runs it: progress with stage, message, ETA and throughput in a box that does not move', async () => {
    const recorder = await recordProgressRenders();
    await page.getByTestId('run-experiment').click();
    await runDetail().waitFor();
    pairRunId = await currentRunId();
    const box = page.getByTestId('run-status');
    // A screenshot while it runs, if the run lasts long enough to take one (the checks use the renders).
    for (;;) {
      const status = await box.getAttribute('data-status');
      if (status !== 'running' && status !== 'queued') break;
      const { stage, percent } = await page.evaluate(() => ({
        stage: document.querySelector('[data-testid="run-status"] li[aria-current="step"]')?.textContent?.trim() ?? '',
        percent: document.querySelector('[data-testid="run-percent"]')?.textContent?.trim() ?? '',
      }));
      if (stage !== '' && stage !== 'Prepare' && percent !== '0%') {
        await saveScreenshot(page, 'app-run-progress');
        break;
      }
      await page.waitForTimeout(60);
    }
    await waitForStatus('done');
    // Every render of the progress area while the run went.
    const seen = (await recorder.stop()).filter(
      (s) => s.runId === pairRunId && (s.status === 'running' || s.status === 'queued'),
    );
    const running = seen.filter((s) => s.percent.endsWith('%'));
    expect(running.length, 'progress was shown while the run went').toBeGreaterThan(2);
    // Progress never goes back, and the box keeps its place and size while numbers change.
    const percents = running.map((s) => Number.parseInt(s.percent, 10));
    expect(percents).toEqual([...percents].sort((x, y) => x - y));
    expect(new Set(seen.map((s) => s.rect)).size).toBe(1);
    expect(new Set(running.map((s) => s.stage)).size).toBeGreaterThan(1);
    expect(running.some((s) => /plain-d[12]-s0\.onnx/.test(s.message))).toBe(true);
    // The box is the same size once the run is done.
    const done = await box.boundingBox();
    expect(`${done!.x},${done!.y},${done!.width},${done!.height}`).toBe(seen[0]!.rect);
    console.log(
      `pair run: ${seen.length} progress renders, stages ${[...new Set(running.map((s) => s.stage))].join(' → ')}, ${percents[0]}% → ${percents.at(-1)}%`,
    );
  });

  it('shows the heatmap; hovering a cell gives the value the CLI gives for it', async () => {
    const details = await t.api.getRun({ runId: pairRunId });
    pairResult = details.result!;
    const matrix = pairResult.matrices[0]!;
    expect([matrix.rows.layers.length, matrix.cols.layers.length]).toEqual([3, 6]);
    await page.getByTestId('heatmap-base').waitFor();
    await expect(page.getByTestId('row-axis-title').textContent()).resolves.toBe('rows: model A: plain-d1-s0.onnx');
    await expect(page.getByTestId('col-axis-title').textContent()).resolves.toBe('columns: model B: plain-d2-s0.onnx');

    // The CLI, in its own process, on the same models, probe, layers and measure.
    const out = join(scratch, 'compare.json');
    await exec(
      process.execPath,
      [
        cliBin,
        'compare',
        A,
        B,
        '--probe',
        'fashion-mnist:200',
        '--layers',
        'op:Relu',
        '--measure',
        'linear',
        '--json',
        out,
        '--cache',
        join(scratch, 'cli-cache'),
      ],
      { cwd: repoRoot, timeout: 120_000 },
    );
    const cli = JSON.parse(readFileSync(out, 'utf8')) as SimilarityMatrix;
    const layout = await plotBox(page);
    for (const [row, col] of [
      [2, 4],
      [0, 0],
      [1, 5],
    ] as const) {
      const point = cellCentre(layout, { rows: 3, cols: 6 }, row, col);
      await page.mouse.move(point.pageX, point.pageY);
      await expect(page.getByTestId('tooltip-row').textContent()).resolves.toBe(cli.rows.layers[row]!.name);
      await expect(page.getByTestId('tooltip-col').textContent()).resolves.toBe(cli.cols.layers[col]!.name);
      const shown = await page.getByTestId('tooltip-value').textContent();
      expect(shown).toBe(cli.matrix[row]![col]!.toFixed(4));
      // And the app's number is the CLI's to the last digit.
      expect(matrix.matrix[row]![col]).toBe(cli.matrix[row]![col]);
    }
    await saveScreenshot(page, 'app-run-result');
    await page.mouse.move(5, 5);
  });

  it('exports CSV and JSON that agree, and the engine’s .npy (float64) with the same numbers', async () => {
    const matrix = pairResult.matrices[0]!;
    const csvFile = await download(page, async () => {
      await page.getByTestId('export-toggle').click();
      await page.getByTestId('export-csv').click();
    });
    const jsonFile = await download(page, async () => {
      await page.getByTestId('export-toggle').click();
      await page.getByTestId('export-json').click();
    });
    const csv = parseCsv(csvFile.bytes.toString('utf8'));
    const json = JSON.parse(jsonFile.bytes.toString('utf8')) as SimilarityMatrix;
    expect(csv[0]!.slice(1)).toEqual(json.cols.layers.map((l) => l.name));
    expect(csv.slice(1).map((r) => r[0])).toEqual(json.rows.layers.map((l) => l.name));
    expect(csv.slice(1).map((r) => r.slice(1).map(Number))).toEqual(json.matrix);
    expect(json.matrix).toEqual(matrix.matrix);

    const npyFile = await download(page, async () => {
      await page.getByTestId('export-toggle').click();
      await page.getByTestId('export-engine-npy').click();
    });
    expect(npyFile.name).toMatch(/\.npy$/);
    const npyPath = join(scratch, 'matrix.npy');
    writeFileSync(npyPath, npyFile.bytes);
    const fromNumpy = JSON.parse(
      await python(
        'import json,sys,numpy as np; a=np.load(sys.argv[1]); print(json.dumps({"dtype": str(a.dtype), "values": a.tolist()}))',
        npyPath,
      ),
    ) as { dtype: string; values: number[][] };
    expect(fromNumpy.dtype).toBe('float64');
    expect(fromNumpy.values).toEqual(json.matrix);

    const engineCsv = await download(page, async () => {
      await page.getByTestId('export-toggle').click();
      await page.getByTestId('export-engine-csv').click();
    });
    const engineRows = parseCsv(engineCsv.bytes.toString('utf8')).filter((r) => r.length > 1);
    const numeric = engineRows.slice(1).map((r) => r.slice(1).map(Number));
    expect(numeric).toEqual(json.matrix);
  });

  it('runs the seeds preset in one click and shows the sanity-check accuracy', { timeout: 150_000 }, async () => {
    await nav('experiment');
    const recorder = await recordProgressRenders();
    await page.getByTestId('run-preset-seeds-sanity').click();
    await runDetail().waitFor();
    const runId = await currentRunId();
    expect(runId).not.toBe(pairRunId);
    // A screenshot of the partial result while it runs, if the run lasts long enough to take one
    // (the checks use the renders).
    while (['running', 'queued'].includes((await page.getByTestId('run-status').getAttribute('data-status')) ?? '')) {
      const partialNow = await page.evaluate(
        () =>
          (document.querySelector('[data-testid="result-partial"]')?.textContent?.trim() ?? '').startsWith(
            'Running:',
          ) && document.querySelector('[data-testid="heatmap-base"]') !== null,
      );
      if (partialNow) {
        await saveScreenshot(page, 'app-run-partial');
        break;
      }
      await page.waitForTimeout(100);
    }
    await waitForStatus('done', 140_000);
    // Every render of the progress area while the run went.
    const renders = (await recorder.stop()).filter(
      (s) => s.runId === runId && (s.status === 'running' || s.status === 'queued'),
    );
    // A longer run: the time left and the throughput are shown while it goes.
    const etas = new Set(renders.map((s) => s.eta).filter((e) => e !== ''));
    const rates = new Set(renders.map((s) => s.rate).filter((r) => r !== ''));
    // Pairs finished so far are shown while it runs, marked as such.
    const partialShown = renders.some((s) => s.partial.startsWith('Running:') && s.heatmap);
    const bars = renders.flatMap((s) => (s.bar ? [s.bar] : []));
    expect(partialShown, 'a partial result was shown while the run went').toBe(true);
    // The bar keeps its height and fills up.
    expect(bars.length, 'the progress bar was shown while the run went').toBeGreaterThan(0);
    expect(Math.min(...bars.map((b) => b.height))).toBeGreaterThanOrEqual(6);
    expect(Math.max(...bars.map((b) => b.filled))).toBeGreaterThan(0.5);
    expect(
      [...etas].some((e) => /^ETA \d+:\d\d$/.test(e)),
      [...etas].join(' | '),
    ).toBe(true);
    console.log(
      `seeds preset progress: ETA shown ${[...etas].slice(0, 6).join(', ')}; throughput ${[...rates].slice(0, 6).join(', ')}`,
    );
    const result = (await t.api.getRun({ runId })).result!;
    expect(result.spec.kind).toBe('seeds');
    const accuracy = sanityAccuracy(result.matrices.filter((m) => m.measure.name === 'linear'));
    const shown = await page.getByTestId('seeds-accuracy').textContent();
    expect(shown).toBe(`${(Math.round(accuracy * 1000) / 10).toFixed(1)}%`);
    expect(accuracy).toBeGreaterThan(0.9);
    console.log(`seeds preset: sanity-check accuracy ${shown} (linear CKA), ${result.matrices.length} matrices`);
    await saveScreenshot(page, 'app-seeds');
  });

  it('stays usable while a run goes (models, history), and cancels it', { timeout: 120_000 }, async () => {
    await nav('experiment');
    await page.getByTestId('run-preset-depth-family').click();
    await runDetail().waitFor();
    const runId = await currentRunId();
    await page.getByTestId('run-percent').waitFor();
    // Browse elsewhere meanwhile: a model's layers, an earlier run's heatmap.
    await showModel(zoo('plain-d8-s0'));
    await expect(page.getByTestId('layer-count').textContent()).resolves.toMatch(/^\d+ of \d+$/);
    await expect(page.getByTestId('activity').textContent()).resolves.toContain('Depth family');
    await nav('runs');
    await page.locator(`[data-testid="run-list"] li[data-run-id="${pairRunId}"] button.open`).click();
    await page.getByTestId('heatmap-base').waitFor();
    await saveScreenshot(page, 'app-browsing');
    // Back to the running one through the activity chip, and cancel.
    await page.getByTestId('activity').click();
    await expect(currentRunId()).resolves.toBe(runId);
    const status = await page.getByTestId('run-status').getAttribute('data-status');
    expect(status === 'running' || status === 'queued', `the family run was still going (${status})`).toBe(true);
    await page.getByTestId('cancel-run').click();
    await waitForStatus('cancelled');
    await expect(page.getByTestId('run-cancelled').textContent()).resolves.toMatch(/Cancelled/);
    await expect(page.getByTestId('activity').count()).resolves.toBe(0);
    expect((await t.api.getRun({ runId })).run.status).toBe('cancelled');
    await expect(
      page.locator(`[data-testid="run-list"] li[data-run-id="${runId}"] [data-testid="run-item-status"]`).textContent(),
    ).resolves.toBe('cancelled');
  });

  it('renames a run, runs it again, compares two runs cell by cell, and deletes one', { timeout: 90_000 }, async () => {
    // Rename the pair run.
    await page.locator(`[data-testid="run-list"] li[data-run-id="${pairRunId}"] button.open`).click();
    await page.getByTestId('rename-run').click();
    await page.getByTestId('rename-input').fill('d1 vs d2, 200 images');
    await page.getByTestId('rename-input').press('Enter');
    await expect(page.getByTestId('run-name').textContent()).resolves.toBe('d1 vs d2, 200 images');
    expect((await t.api.getRun({ runId: pairRunId })).run.name).toBe('d1 vs d2, 200 images');

    // Run it again: a new run of the same experiment, its pair read back from the first (same numbers).
    await page.getByTestId('run-again').click();
    await expect.poll(() => currentRunId()).not.toBe(pairRunId);
    const againId = await currentRunId();
    await waitForStatus('done');
    const again = (await t.api.getRun({ runId: againId })).result!;
    expect(again.matrices[0]!.matrix).toEqual(pairResult.matrices[0]!.matrix);
    // The status says done as the run ends; the work summary comes with the result, just after.
    await expect
      .poll(async () => (await page.getByTestId('run-done').textContent())!.replace(/\s+/g, ' '))
      .toContain('model pairs: 0 computed, 1 reused');
    await page.locator(`[data-testid="run-list"] li[data-run-id="${pairRunId}"] button.open`).click();

    // The same experiment on another probe set: edit as new, 300 images, run.
    await page.getByRole('button', { name: 'Edit as new' }).click();
    await page.getByTestId('probe-n').fill('300');
    await page.getByTestId('experiment-name').fill('d1 vs d2, 300 images');
    await expect(page.getByTestId('probe-n-checked').textContent({ timeout: 15_000 })).resolves.toBe('300');
    await page.getByTestId('run-experiment').click();
    await runDetail().waitFor();
    const secondId = await currentRunId();
    await waitForStatus('done');
    const second = (await t.api.getRun({ runId: secondId })).result!.matrices[0]!;

    // Tick both, compare: the difference is A − B of the two matrices, computed here.
    for (const id of [pairRunId, secondId]) {
      await page.locator(`[data-testid="run-list"] li[data-run-id="${id}"] input[type="checkbox"]`).check();
    }
    await page.getByTestId('compare-runs').click();
    await page.getByTestId('compare-diff').waitFor();
    const first = pairResult.matrices[0]!;
    let max = 0;
    let at = [0, 0];
    let sum = 0;
    first.matrix.forEach((row, r) =>
      row.forEach((v, c) => {
        const d = Math.abs(v! - second.matrix[r]![c]!);
        sum += d;
        if (d > max) [max, at] = [d, [r, c]];
      }),
    );
    await expect(page.getByTestId('diff-cells').textContent()).resolves.toBe('18');
    await expect(page.getByTestId('diff-max').textContent()).resolves.toBe(max.toFixed(4));
    await expect(page.getByTestId('diff-mean').textContent()).resolves.toBe((sum / 18).toFixed(4));
    await expect(page.getByTestId('diff-at').textContent()).resolves.toBe(
      `${first.rows.layers[at[0]!]!.name} × ${first.cols.layers[at[1]!]!.name}`,
    );
    expect(max).toBeGreaterThan(0);
    await saveScreenshot(page, 'app-compare');

    // Delete the second run: gone from the list and from the engine's history.
    await page.locator(`[data-testid="run-list"] li[data-run-id="${secondId}"] button.open`).click();
    await page.getByTestId('delete-run').click();
    await page.getByTestId('confirm-delete').click();
    await page.locator(`[data-testid="run-list"] li[data-run-id="${secondId}"]`).waitFor({ state: 'detached' });
    const left = await t.api.listRuns({});
    expect(left.map((r) => r.id)).not.toContain(secondId);
    expect(left.map((r) => r.id)).toContain(pairRunId);
    // The deleted run was ticked: one ticked run is left, so Compare is off.
    await expect(page.getByTestId('compare-runs').textContent()).resolves.toBe('Compare (1/2)');
    await expect(page.getByTestId('compare-runs').isDisabled()).resolves.toBe(true);
  });

  it('shows a failed run’s engine message in place and stays usable (a model corrupted after it was opened)', async () => {
    const model = join(scratch, 'soon-corrupt.onnx');
    copyFileSync(A, model);
    await page.getByTestId('nav-models').click();
    await page.getByTestId('model-path').fill(model);
    await page.getByTestId('open-model').click();
    await page.getByTestId('model-summary').locator('h2', { hasText: 'soon-corrupt.onnx' }).waitFor();
    await page.getByTestId('use-model').click();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('kind-self').click();
    await page.getByTestId('add-model').selectOption(model);
    await page.getByTestId('layer-select').first().waitFor();
    await page.getByTestId('probe-n').fill('100');
    await page.locator('[data-testid="probe-fit"][data-state="fits"]').waitFor({ timeout: 15_000 });
    // The file is damaged after the experiment was set up (and its probe check passed).
    writeFileSync(model, 'this is no longer an onnx model');
    await page.getByTestId('run-experiment').click();
    const message = await (async () => {
      // Either the engine refuses to create it (the file changed), or the run fails: both in place.
      const builderError = page.getByTestId('builder-error');
      const runError = page.getByTestId('run-error');
      await Promise.race([builderError.waitFor(), runError.waitFor()]);
      return (await runError.count()) > 0 ? runError.textContent() : builderError.textContent();
    })();
    expect(message).toContain('soon-corrupt.onnx');
    await saveScreenshot(page, 'app-run-error');
    // Still usable: a shipped model opens and shows its layers.
    await showModel(zoo('plain-d4-s0'));
    await expect(page.getByTestId('layer-count').textContent()).resolves.toMatch(/^\d+ of \d+$/);
  });

  it('follows a dark system theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await nav('runs');
    await page.locator(`[data-testid="run-list"] li[data-run-id="${pairRunId}"] button.open`).click();
    await page.getByTestId('heatmap-base').waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(22, 24, 28)');
    await saveScreenshot(page, 'app-run-result-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('caused no Content-Security-Policy violation on the way', () => {
    expect(cspViolations).toEqual([]);
  });
});
