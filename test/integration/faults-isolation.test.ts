/**
 * Untrusted models run isolated (issue 8 §1), checked end to end through the HTTP server and the
 * experiments API as the browser UI drives them: a model whose runner process crashes (a native
 * crash: SIGSEGV) or hangs (never answers) fails its own run with a message naming the model, the
 * stage and how the process ended; the server keeps answering meanwhile; the run queued behind it
 * completes; the next job gets a fresh process; and no runner process outlives the workbench.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AppInfo, ExperimentInfo, ExperimentSpec, ModelSummary, RunInfo } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { distinctCopy, faultLauncher, httpClient, processAlive, type HttpClient } from '../helpers/faults.js';
import { removeTempDataDirs, tempDataDir, zoo } from '../helpers/experiments.js';
import { rendererDist } from '../helpers/paths.js';

const RUN_TIMEOUT_MS = 4000;
// Run 3 of the extraction session is batch 3/8: the session was prepared with the calibration of
// the run's prepare stage, so its first runs are the first batches (2 and 3 examples).
const launcher = faultLauncher([
  { model: /crashes-on-run\.onnx$/, on: 'run', run: 3, action: 'crash' },
  { model: /crashes-on-load\.onnx$/, on: 'open', action: 'crash' },
  { model: /hangs\.onnx$/, on: 'run', run: 3, action: 'hang' },
]);
let api: Workbench;
let server: RunningServer;
let http: HttpClient;
const models: Record<string, string> = {};

beforeAll(async () => {
  const dataDir = tempDataDir('ckawb-isolation-');
  const uploads = join(dataDir, 'uploads', 'hostile');
  mkdirSync(uploads, { recursive: true });
  for (const name of ['crashes-on-run', 'crashes-on-load', 'hangs', 'fine']) {
    models[name] = distinctCopy(zoo('plain-d1-s0'), join(uploads, `${name}.onnx`), name);
  }
  api = createWorkbench({
    dataDir,
    runnerLauncher: launcher,
    runnerTimeouts: { runMs: RUN_TIMEOUT_MS },
    threads: 1,
  });
  server = await startServer({ api, staticDir: rendererDist, uploadDir: join(dataDir, 'uploads') });
  http = httpClient(server.url, server.token);
});

afterAll(async () => {
  await server?.close();
  await api?.close();
  removeTempDataDirs();
});

const spec = (model: string, name: string): ExperimentSpec => ({
  name,
  kind: 'self',
  models: [{ path: model }],
  probe: 'fashion-mnist:300',
  layers: 'op:Relu',
  measures: ['linear'],
  options: { batchSize: 50 },
});

async function start(model: string, name: string): Promise<RunInfo> {
  await http.value<ModelSummary>('openModel', { path: model });
  const experiment = await http.value<ExperimentInfo>('createExperiment', { spec: spec(model, name) });
  return http.value<RunInfo>('runExperiment', { experimentId: experiment.id });
}

/**
 * Calls a cheap API method every 25 ms while `work` runs, one after the other: how many calls were
 * sent, and when (Date.now()) each answer arrived. A call that errors fails the test.
 */
async function answersDuring<T>(work: Promise<T>): Promise<{ result: T; sent: number; answeredAt: number[] }> {
  const answeredAt: number[] = [];
  let sent = 0;
  let done = false;
  const poll = (async () => {
    while (!done) {
      sent++;
      const info = await http.value<AppInfo>('appInfo', {});
      expect(info.name).toBeTruthy();
      answeredAt.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const result = await work.finally(() => (done = true));
  await poll;
  return { result, sent, answeredAt };
}

/** How many answers arrived while the run was running (its own recorded start and end). */
function answeredWhileRunning(answeredAt: readonly number[], run: RunInfo, lastMs = Infinity): number {
  const end = Date.parse(run.finishedAt!);
  const start = Math.max(Date.parse(run.startedAt!), end - lastMs);
  return answeredAt.filter((t) => t >= start && t <= end).length;
}

describe('a hostile model through the server', () => {
  it('a runner crash mid-extraction fails that run only; the server answers throughout; the queued run completes', async () => {
    const spawnedBefore = launcher.spawned.length;
    const crashing = await start(models['crashes-on-run']!, 'crashes');
    const queued = await start(models.fine!, 'fine after a crash');
    const { result, sent, answeredAt } = await answersDuring(
      Promise.all([http.waitForRun(crashing.id, 120_000), http.waitForRun(queued.id, 120_000)]),
    );
    const [crashed, fine] = result;
    expect(crashed.run.status).toBe('failed');
    expect(crashed.run.error).toEqual({
      code: 'RUNTIME',
      message: `${models['crashes-on-run']}: the model runner crashed while running batch 3/8 (killed by SIGSEGV)`,
    });
    expect(fine.run.status).toBe('done');
    expect(fine.result!.matrices[0]!.matrix.flat().every((v) => typeof v === 'number')).toBe(true);
    // The server kept answering: every call came back, and calls were answered while the crashing
    // run ran and while the run queued behind it ran (after the crash).
    expect(answeredAt).toHaveLength(sent);
    expect(answeredWhileRunning(answeredAt, crashed.run)).toBeGreaterThanOrEqual(3);
    expect(answeredWhileRunning(answeredAt, fine.run)).toBeGreaterThanOrEqual(3);
    // The crash ended the process it happened in; the fine run got a new one.
    const crashedIn = launcher.spawned.find((p) => p.faults.some((f) => f.model === models['crashes-on-run']))!;
    expect(crashedIn.faults).toEqual([{ model: models['crashes-on-run'], action: 'crash', at: 'run 3' }]);
    expect(processAlive(crashedIn.pid)).toBe(false);
    const fineIn = launcher.spawned.filter((p) => p.models.includes(models.fine!));
    expect(fineIn.length).toBeGreaterThan(0);
    expect(fineIn.every((p) => p.pid !== crashedIn.pid)).toBe(true);
    expect(launcher.spawned.length).toBeGreaterThan(spawnedBefore);
  }, 180_000);

  it('a crash while loading the model fails the run at once, naming the model; the model still opens', async () => {
    // Opening (inspect) survives the crash: it falls back to what the file says.
    const summary = await http.value<ModelSummary>('openModel', { path: models['crashes-on-load'] });
    expect(summary.layers.map((l) => l.op)).toContain('Relu');
    const run = await start(models['crashes-on-load']!, 'crashes on load');
    const details = await http.waitForRun(run.id, 120_000);
    expect(details.run.status).toBe('failed');
    expect(details.run.error!.code).toBe('RUNTIME');
    expect(details.run.error!.message).toBe(
      `${models['crashes-on-load']}: the model runner crashed while loading the model (killed by SIGSEGV)`,
    );
  }, 120_000);

  it('a hang past the batch time limit fails with TIMEOUT, the process is stopped and the next run works', async () => {
    const hanging = await start(models.hangs!, 'hangs');
    const { result: hung, sent, answeredAt } = await answersDuring(http.waitForRun(hanging.id, 120_000));
    expect(hung.run.status).toBe('failed');
    // The third run request hangs: batch 3. After the two calibration-sized batches, batches are
    // pipelined two at a time, so on a loaded machine the limit may be reached first by batch 4,
    // queued behind it in the stopped process; either names the hung model and the limit.
    expect(hung.run.error?.code).toBe('TIMEOUT');
    expect(hung.run.error?.message).toMatch(
      new RegExp(
        `^${models.hangs!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: running batch [34]/8 took longer than ${(RUN_TIMEOUT_MS / 1000).toFixed(1)} s; the model runner was stopped$`,
      ),
    );
    // The batch time limit ended it: the run lasted at least the limit (and waitForRun bounds it).
    expect(Date.parse(hung.run.finishedAt!) - Date.parse(hung.run.startedAt!)).toBeGreaterThanOrEqual(RUN_TIMEOUT_MS);
    // The server kept answering: every call came back, and calls were answered during the last
    // RUN_TIMEOUT_MS of the run, while the runner hung.
    expect(answeredAt).toHaveLength(sent);
    expect(answeredWhileRunning(answeredAt, hung.run, RUN_TIMEOUT_MS)).toBeGreaterThanOrEqual(5);
    const hungIn = launcher.spawned.find((p) => p.faults.some((f) => f.action === 'hang'))!;
    // The stopped process was killed, not left behind.
    await expect.poll(() => processAlive(hungIn.pid), { timeout: 10_000 }).toBe(false);

    const after = await start(models.fine!, 'fine after a hang');
    const fine = await http.waitForRun(after.id, 120_000);
    expect(fine.run.status).toBe('done');
    // Run history keeps each failure with its reason.
    const runs = await http.value<RunInfo[]>('listRuns', { status: ['failed'] });
    expect(runs.map((r) => r.error!.code).sort()).toEqual(['RUNTIME', 'RUNTIME', 'TIMEOUT']);
  }, 180_000);

  it('closing the workbench ends every runner process it started', async () => {
    await server.close();
    await api.close();
    for (const spawned of launcher.spawned) {
      await expect.poll(() => processAlive(spawned.pid), { timeout: 10_000 }).toBe(false);
    }
  });
});
