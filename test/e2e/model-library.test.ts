/**
 * The model library in the real browser UI over the real server: the shipped zoo, models opened
 * before (kept by the engine, newest first, across a reload), layer choices kept per model,
 * dropped files (models open, other files are refused), and the cache panel beside the library
 * (size after a run, per-model use under the library's name, clear, a limit that persists).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { pageOnServer } from '../helpers/browser.js';
import { fixturesDir, repoRoot, tinyCnn } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { runSpec } from '../helpers/experiments.js';

const bnCnn = join(fixturesDir, 'models/bn_cnn.onnx');

const ui = pageOnServer(startTestServer, (t) => t.server.urlWithToken);
let t: TestServer;
let page: Page;
beforeAll(() => {
  ({ server: t, page } = ui);
});

async function openByPath(path: string) {
  await page.getByTestId('model-path').fill(path);
  await page.getByTestId('open-model').click();
  await page
    .getByTestId('model-summary')
    .locator('h2', { hasText: path.split('/').pop()! })
    .waitFor();
}

const names = (list: 'library-recent' | 'library-zoo') =>
  page.$$eval(`[data-testid="${list}"] li .file`, (spans) => spans.map((s) => s.textContent?.trim()));

describe('model library', () => {
  it('lists the shipped models, as zoo.json names them', async () => {
    const zoo = JSON.parse(readFileSync(join(repoRoot, 'models/zoo.json'), 'utf8')) as {
      models: { file: string }[];
      transformers: { file: string }[];
    };
    await expect
      .poll(() => names('library-zoo'), { timeout: 5000 })
      .toEqual([...zoo.models, ...zoo.transformers].map((m) => m.file.split('/').pop()));
  });

  it('lists the models opened before, newest first, across a reload, as the engine keeps them', async () => {
    await openByPath(tinyCnn);
    await openByPath(bnCnn);
    await expect.poll(() => names('library-recent')).toEqual(['bn_cnn.onnx', 'tiny_cnn.onnx']);
    const engine = (await t.api.listModels({})).filter((m) => m.origin === 'opened').map((m) => m.fileName);
    expect(engine).toEqual(['bn_cnn.onnx', 'tiny_cnn.onnx']);
    await page.reload();
    await expect.poll(() => names('library-recent')).toEqual(['bn_cnn.onnx', 'tiny_cnn.onnx']);
    // Opening one again makes it the newest.
    await page.locator(`[data-testid="library-recent"] button[title="${tinyCnn}"]`).click();
    await page.getByTestId('model-summary').locator('h2', { hasText: 'tiny_cnn.onnx' }).waitFor();
    await expect.poll(() => names('library-recent')).toEqual(['tiny_cnn.onnx', 'bn_cnn.onnx']);
  });

  it('keeps each model’s layer choice while switching between models', async () => {
    await openByPath(tinyCnn);
    await openByPath(bnCnn);
    const bn = await inspectModelFile(bnCnn);
    const ops = [...new Set(bn.layers.map((l) => l.op))];
    const op = ops.find((o) => bn.layers.filter((l) => l.op === o).length >= 2) ?? ops[0]!;
    await page.getByTestId('select-op').selectOption(op);
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe(`op:${op}`);
    await page.locator(`[data-testid="library"] button[title="${tinyCnn}"]`).click();
    await page.getByTestId('model-summary').locator('h2', { hasText: 'tiny_cnn.onnx' }).waitFor();
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe('all');
    await page.locator(`[data-testid="library"] button[title="${bnCnn}"]`).click();
    await page.getByTestId('model-summary').locator('h2', { hasText: 'bn_cnn.onnx' }).waitFor();
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe(`op:${op}`);
    await saveScreenshot(page, 'model-library');
  });

  it('opens dropped .onnx files and refuses other files with a message', async () => {
    const bytes = readFileSync(tinyCnn).toString('base64');
    await page.evaluate(async (base64) => {
      const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([data], 'dropped.onnx'));
      transfer.items.add(new File(['a,b\n1,2\n'], 'notes.csv'));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await expect(page.getByTestId('error').textContent()).resolves.toContain(
      'Only .onnx models can be opened here: notes.csv',
    );
    await page.locator('[data-testid="library-recent"] button', { hasText: 'dropped.onnx' }).waitFor();
    await expect(page.getByTestId('layer-count').textContent()).resolves.toBe('8 of 8');
  });
});

describe('cache panel', () => {
  const shownBytes = async (testid: 'cache-size' | 'cache-limit') =>
    Number(await page.getByTestId(testid).getAttribute('data-bytes'));

  it('shows what a run put in the cache, by model, clears it after asking, and keeps the limit set', async () => {
    await openByPath(tinyCnn);
    const run = await runSpec(t.api, {
      name: 'cache',
      kind: 'self',
      models: [{ path: tinyCnn }],
      probe: 'random:32',
      layers: 'all',
      measures: ['linear'],
    });
    expect(run.run.status).toBe('done');
    const info = await t.api.getCacheInfo({});
    expect(info.bytes).toBeGreaterThan(0);
    await expect.poll(() => shownBytes('cache-size')).toBe(info.bytes);
    await expect(page.getByTestId('cache-models').textContent()).resolves.toContain('tiny_cnn.onnx');
    await expect(page.getByTestId('cache-kinds').textContent()).resolves.toMatch(/Activations.*Grams/);
    await page.getByTestId('cache-panel').scrollIntoViewIfNeeded();
    await saveScreenshot(page, 'cache-panel');

    await page.getByTestId('cache-clear').click();
    await page.getByTestId('cache-clear-confirm').click();
    await expect.poll(() => shownBytes('cache-size')).toBe(0);
    expect((await t.api.getCacheInfo({})).bytes).toBe(0);

    await page.getByTestId('cache-limit-edit').click();
    await page.getByTestId('cache-limit-input').fill('750MB');
    await page.getByTestId('cache-limit-save').click();
    await expect.poll(() => shownBytes('cache-limit')).toBe(750_000_000);
    await page.reload();
    await expect.poll(() => shownBytes('cache-limit')).toBe(750_000_000);
    expect(await t.api.getCacheInfo({})).toMatchObject({ limitBytes: 750_000_000, limitIsSet: true });
  });
});
