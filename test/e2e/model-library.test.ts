/**
 * The model library in the real browser UI over the real server: recent models that survive a
 * reload, layer choices kept per model, and dropped files (models open, other files are refused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { inspectModelFile } from '../../app/engine/onnx/model-file.js';
import { launchBrowser } from '../helpers/browser.js';
import { fixturesDir, tinyCnn } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const bnCnn = join(fixturesDir, 'models/bn_cnn.onnx');

let t: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  t = await startTestServer();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(t.server.urlWithToken);
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function openByPath(path: string) {
  await page.getByTestId('model-path').fill(path);
  await page.getByTestId('open-model').click();
  await page.locator(`[data-testid="open-models"] button[title="${path}"]`).waitFor();
}

const recentNames = () =>
  page.$$eval('[data-testid="recent-models"] li .file', (spans) => spans.map((s) => s.textContent?.trim()));

describe('model library', () => {
  it('lists recent models, newest first, across a reload, and forgets on request', async () => {
    await openByPath(tinyCnn);
    await openByPath(bnCnn);
    await expect(recentNames()).resolves.toEqual(['bn_cnn.onnx', 'tiny_cnn.onnx']);
    await page.reload();
    await expect(recentNames()).resolves.toEqual(['bn_cnn.onnx', 'tiny_cnn.onnx']);
    await expect(page.locator('[data-testid="open-models"] li').count()).resolves.toBe(0);
    await page.locator('[data-testid="recent-models"] button[title$="tiny_cnn.onnx"]').click();
    await page.getByTestId('model-summary').waitFor();
    await expect(recentNames()).resolves.toEqual(['tiny_cnn.onnx', 'bn_cnn.onnx']);
    await page.getByRole('button', { name: 'Forget bn_cnn.onnx' }).click();
    await expect(recentNames()).resolves.toEqual(['tiny_cnn.onnx']);
    await page.reload();
    await expect(recentNames()).resolves.toEqual(['tiny_cnn.onnx']);
  });

  it('keeps each model’s layer choice while switching between models', async () => {
    await openByPath(tinyCnn);
    await openByPath(bnCnn);
    const bn = await inspectModelFile(bnCnn);
    const ops = [...new Set(bn.layers.map((l) => l.op))];
    const op = ops.find((o) => bn.layers.filter((l) => l.op === o).length >= 2) ?? ops[0]!;
    await page.getByTestId('select-op').selectOption(op);
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe(`op:${op}`);
    await page.locator(`[data-testid="open-models"] button[title="${tinyCnn}"]`).click();
    await expect(page.getByTestId('selection-spec').textContent()).resolves.toBe('all');
    await page.locator(`[data-testid="open-models"] button[title="${bnCnn}"]`).click();
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
    await page.locator('[data-testid="open-models"] button', { hasText: 'dropped.onnx' }).waitFor();
    await expect(page.getByTestId('layer-count').textContent()).resolves.toBe('8 of 8');
  });
});
