/**
 * Other architectures in the real browser UI over the real server: a two-input text encoder (its
 * catalogue marked by calibration, a text file tokenized with the model's tokenizer, a reduction,
 * the layers it cannot compare listed with their reasons beside the result), and a pair of CNNs
 * each fed its own view of the same images (NCHW 28×28 and NHWC 32×32). The numbers the page
 * shows come from runs whose matrices equal the torch references (test/fixtures/text, views).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { pageOnServer } from '../helpers/browser.js';
import { fixturesDir } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const text = join(fixturesDir, 'text');
const views = join(fixturesDir, 'views');
const ui = pageOnServer(startTestServer, (t) => t.server.urlWithToken);
let t: TestServer;
let page: Page;
beforeAll(() => {
  ({ server: t, page } = ui);
});

async function openByPath(path: string) {
  await page.getByTestId('nav-models').click();
  await page.getByTestId('model-path').fill(path);
  await page.getByTestId('open-model').click();
  await page
    .getByTestId('model-summary')
    .locator('h2', { hasText: path.split('/').pop()! })
    .waitFor();
}

async function runAndWait(): Promise<string> {
  await page.getByTestId('run-experiment').click();
  await page.getByTestId('run-detail').waitFor();
  await page.locator('[data-testid="run-status"][data-status="done"]').waitFor({ timeout: 120_000 });
  return (await page.getByTestId('run-detail').getAttribute('data-run-id'))!;
}

describe('a text model', () => {
  it('its catalogue marks the layer that does not split into examples, once calibrated', async () => {
    await openByPath(join(text, 'text_encoder.onnx'));
    const row = page.locator('tr[data-tensor="/embed/pos/Gather_output_0"] [data-testid="layer-split"]');
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain('not per example');
    // Real per-example shapes where onnxruntime could not tell, the token axis marked.
    await expect
      .poll(() => page.locator('tr[data-tensor="/blocks.0/Add_1_output_0"] td.mono').first().textContent())
      .toBe('[example, seq, 32]');
    await page.getByTestId('select-all').click();
    await page.getByTestId('use-model').click();
  });

  it('a text file as its probe, tokenized with its tokenizer; mean over tokens; the result with what was left out', async () => {
    await page.getByTestId('nav-experiment').click();
    await page.getByTestId('kind-self').click();
    await page.getByTestId('model-probe-toggle').click();
    await page.getByTestId('model-tokenizer-0').fill(join(text, 'wordpiece.tokenizer.json'));
    await page.getByTestId('probe-picker').getByLabel('Text file (.txt / .jsonl)').check();
    await page.getByTestId('probe-picker').getByTestId('probe-path').fill(join(text, 'sentences.txt'));
    await expect
      .poll(() => page.getByTestId('probe-picker').getByTestId('probe-n-checked').textContent(), { timeout: 20_000 })
      .toBe('24');
    await expect(page.getByTestId('probe-status').textContent()).resolves.toMatch(
      /up to 16 tokens, tokenized with wordpiece\.tokenizer\.json/,
    );
    await page.getByTestId('reduce').selectOption('mean');
    const runId = await runAndWait();

    const { result } = await t.api.getRun({ runId });
    const model = result!.models[0]!;
    expect(model.layers.every((l) => l.reduction === 'mean')).toBe(true);
    await expect(page.getByTestId('result-reduction').textContent()).resolves.toBe('reduced by mean');
    await page.getByTestId('heatmap-base').waitFor();
    // Every layer selected is shown or listed with its reason.
    expect(model.layers.length + model.omitted!.length).toBe(76);
    await expect(page.getByTestId('omitted-count').textContent()).resolves.toBe(String(model.omitted!.length));
    await page.getByTestId('omitted-layers').locator('summary').click();
    await expect(
      page.locator('[data-testid="omitted-layers"] li[data-tensor="/embed/pos/Gather_output_0"]').textContent(),
    ).resolves.toMatch(/its first axis is not the examples/);
    await saveScreenshot(page, 'app-text-model');

    // The page's numbers are the engine's, and those are the torch reference's.
    const reference = (
      JSON.parse(readFileSync(join(text, 'expected_cka.json'), 'utf8')) as {
        cases: { name: string; rows: { layers: string[] }; matrix: number[][] }[];
      }
    ).cases.find((c) => c.name === 'text_encoder self, mean, sentences.txt via wordpiece')!;
    const m = result!.matrices[0]!;
    const at = (tensor: string) => m.rows.layers.findIndex((l) => l.tensor === tensor);
    const [r, c] = [at(reference.rows.layers[0]!), at(reference.rows.layers[3]!)];
    expect(Math.abs((m.matrix[r]![c] as number) - reference.matrix[0]![3]!)).toBeLessThan(1e-5);
  }, 180_000);
});

describe('a pair with per-model probes', () => {
  it('A on its NCHW 28×28 array, B on its own NHWC 32×32 view of the same images', async () => {
    await openByPath(join(views, 'a.onnx'));
    await page.getByTestId('select-op').selectOption('Relu');
    await page.getByTestId('use-model').click();
    await openByPath(join(views, 'b.onnx'));
    await page.getByTestId('select-op').selectOption('Relu');
    await page.getByTestId('use-model').click();
    await page.getByTestId('nav-experiment').click();
    // The text model of the test above is still in the form: this is a new experiment.
    const rows = page.locator('[data-testid="builder-models"] button[aria-label^="Remove text_encoder"]');
    if ((await rows.count()) > 0) await rows.first().click();
    await page.getByTestId('kind-pair').click();
    await page.getByTestId('probe-picker').getByLabel('Array file (.npy / .npz)').check();
    await page.getByTestId('probe-picker').getByTestId('probe-path').fill(join(views, 'probe_a.npy'));
    await expect
      .poll(() => page.getByTestId('probe-picker').getByTestId('probe-n-checked').textContent(), { timeout: 20_000 })
      .toBe('64');
    // B's own probe, checked against B's input.
    await page.getByTestId('model-probe-toggle').nth(1).click();
    await page.getByTestId('model-own-probe-1').check();
    const own = page.getByTestId('model-probe-1');
    await own.getByLabel('Array file (.npy / .npz)').check();
    await own.getByTestId('probe-path').fill(join(views, 'probe_b.npy'));
    await expect.poll(() => own.getByTestId('probe-n-checked').textContent(), { timeout: 20_000 }).toBe('64');
    await expect(own.getByTestId('probe-status').textContent()).resolves.toContain('[32, 32, 1]');
    await page.getByTestId('reduce').selectOption('mean');
    const runId = await runAndWait();

    await expect(page.getByTestId('result-probe').allTextContents()).resolves.toEqual([
      `npy:${join(views, 'probe_a.npy')}`,
      `npy:${join(views, 'probe_b.npy')}`,
    ]);
    await page.getByTestId('heatmap-base').waitFor();
    await saveScreenshot(page, 'app-views-pair');
    const { result } = await t.api.getRun({ runId });
    const expected = JSON.parse(readFileSync(join(views, 'expected_cka_mean.json'), 'utf8')) as { matrix: number[][] };
    const matrix = result!.matrices[0]!.matrix as number[][];
    expect(
      Math.max(...expected.matrix.flatMap((row, i) => row.map((v, j) => Math.abs(matrix[i]![j]! - v)))),
    ).toBeLessThan(1e-4);
  }, 180_000);
});
