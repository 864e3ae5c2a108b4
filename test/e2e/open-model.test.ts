import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { pageOnServer } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { tinyCnn } from '../helpers/paths.js';

const ui = pageOnServer(startTestServer, (t) => t.server.urlWithToken);
let t: TestServer;
let page: Page;
beforeAll(() => {
  ({ server: t, page } = ui);
});

async function openByPath(path: string) {
  await page.getByTestId('model-path').fill(path);
  await page.getByTestId('open-model').click();
}

describe('opening a model in the browser UI', () => {
  it('shows the summary and exactly the layers the engine lists', async () => {
    await openByPath(tinyCnn);
    await page.getByTestId('layer-table').waitFor();
    const engine = await inspectModelFile(tinyCnn);
    const shown = await page.$$eval('[data-testid="layer-table"] tbody tr', (rows) =>
      rows.map((row) => row.getAttribute('data-tensor')),
    );
    expect(shown).toEqual(engine.layers.map((l) => l.tensor));
    const names = await page.$$eval('[data-testid="layer-table"] tbody tr td.name', (cells) =>
      cells.map((c) => c.textContent?.trim()),
    );
    expect(names).toEqual(engine.layers.map((l) => l.name));
    await expect(page.getByTestId('parameters').textContent()).resolves.toBe('426');
    await saveScreenshot(page, 'model-view');
  });

  it('shows the engine message for a corrupt model and stays usable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-'));
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, 'definitely not an onnx file');
    await openByPath(corrupt);
    const error = page.getByTestId('error');
    await error.waitFor();
    expect(await error.textContent()).toContain(`${corrupt}: not a valid ONNX model`);
    await saveScreenshot(page, 'error');
    // The app keeps working: opening a good model after the error succeeds.
    await openByPath(tinyCnn);
    await page.getByTestId('model-summary').waitFor();
    expect(await page.$$eval('[data-testid="layer-table"] tbody tr', (rows) => rows.length)).toBe(8);
  });

  it('uploads a model picked in the file dialog', async () => {
    await page.getByTestId('upload').setInputFiles(tinyCnn);
    // The upload is a file of its own in the app's data directory, opened and listed in the library:
    // the same content as the tiny_cnn.onnx opened by path above, so one entry, now the uploaded one.
    await page.locator('[data-testid="library-recent"] li .meta', { hasText: 'uploaded' }).waitFor();
    await expect(page.locator('[data-testid="library-recent"] li').count()).resolves.toBe(1);
    const uploaded = (await t.api.listModels({})).find((m) => m.origin === 'opened' && m.path.startsWith(t.dataDir));
    expect(uploaded).toMatchObject({ fileName: 'tiny_cnn.onnx', source: 'upload', from: 'uploaded' });
    await page.getByTestId('model-summary').locator('h2', { hasText: uploaded!.fileName }).waitFor();
    const count = await page.getByTestId('layer-count').textContent();
    expect(count).toBe('8 of 8');
  });
});
