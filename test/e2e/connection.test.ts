/**
 * A stopped server is visible: with a run going, the server is stopped (the engine goes on, as
 * when `npm run serve` is interrupted and started again) — within 2 s the page says
 * "disconnected — reconnecting" and shows the run's progress as the last known, not live; the
 * server restarted with a new token, the page says how to reopen; opened with the new address,
 * it is live again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { launchBrowser } from '../helpers/browser.js';
import { zoo } from '../helpers/experiments.js';
import { rendererDist } from '../helpers/paths.js';
import { saveScreenshot } from '../helpers/screenshots.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ckawb-connection-'));
let api: Workbench;
let server: RunningServer;
let browser: Browser;
let page: Page;
let runId = '';

const serve = (port: number, token: string) =>
  startServer({ api, staticDir: rendererDist, uploadDir: join(dataDir, 'uploads'), port, token });

beforeAll(async () => {
  // The run below (the 8× model on 5000 images) would write 5.5 GiB, over the default cache limit
  // on most disks: it must run long enough to be watched, not be refused.
  api = createWorkbench({ dataDir, cacheLimitBytes: 64 * 2 ** 30 });
  server = await serve(0, 'first-token-of-the-server');
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(server.urlWithToken);
});
afterAll(async () => {
  if (runId) await api.cancelRun({ runId }).catch(() => undefined);
  await browser?.close();
  await server?.close();
  await api?.close();
});

describe('connection banner', () => {
  it('says "disconnected — reconnecting" within 2 s of the server stopping, and stops showing progress as live', async () => {
    await api.openModel({ path: zoo('plain-d8-s0') });
    const experiment = await api.createExperiment({
      spec: {
        name: 'runs on while the server restarts',
        kind: 'self',
        models: [{ path: zoo('plain-d8-s0') }],
        probe: 'fashion-mnist:5000',
        layers: 'op:Relu',
        measures: ['linear'],
      },
    });
    runId = (await api.runExperiment({ experimentId: experiment.id })).id;
    await page.goto(`${server.url}#/runs/${runId}`);
    await expect.poll(() => page.getByTestId('run-percent').textContent(), { timeout: 60_000 }).toMatch(/^[1-9]\d*%$/);
    await expect(page.getByTestId('run-status').getAttribute('data-live')).resolves.toBe('true');

    const stopped = Date.now();
    await server.close();
    await page.locator('[data-testid="connection-banner"][data-state="reconnecting"]').waitFor({ timeout: 2000 });
    expect(Date.now() - stopped).toBeLessThan(2000);
    await expect(page.getByTestId('connection-banner').textContent()).resolves.toContain('Disconnected — reconnecting');
    await expect(page.getByTestId('run-status').getAttribute('data-live')).resolves.toBe('false');
    await expect(page.getByTestId('run-eta').textContent()).resolves.toBe('ETA –:––');
    await expect(page.getByTestId('run-message').textContent()).resolves.toContain('last known progress');
    await expect(page.getByTestId('activity-percent').textContent()).resolves.toMatch(/%\?$/);
    await saveScreenshot(page, 'app-disconnected');
  });

  it('after a restart with a new token, explains how to reopen; the new address brings it back', async () => {
    server = await serve(server.port, 'second-token-after-a-restart');
    const banner = page.locator('[data-testid="connection-banner"][data-state="new-token"]');
    await banner.waitFor({ timeout: 15_000 });
    const text = (await banner.textContent())!.replace(/\s+/g, ' ');
    expect(text).toContain('The workbench server was restarted.');
    expect(text).toContain('?token=');
    // The run went on in the engine meanwhile.
    expect(['running', 'done']).toContain((await api.getRun({ runId })).run.status);

    await page.goto(server.urlWithToken);
    await page.goto(`${server.url}#/runs/${runId}`);
    await page.getByTestId('run-detail').waitFor();
    await expect(page.getByTestId('connection-banner').count()).resolves.toBe(0);
    await expect(page.getByTestId('run-status').getAttribute('data-live')).resolves.toBe('true');
  }, 60_000);
});
