/**
 * The same experiments through the three shells — the API object (as Electron's IPC adapts it),
 * the HTTP server (POST /api/<method> with the token) and the CLI (`run SPEC.json`, `sanity`) —
 * each in a data directory of its own: identical numbers, every kind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult, ExperimentSpec, RunDetails } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { cli, kindSpecs, numbersOf, runSpec, tempDataDir, removeTempDataDirs } from '../helpers/experiments.js';
import { rendererDist } from '../helpers/paths.js';

const kinds = ['pair', 'self', 'seeds', 'family'] as const;

let api: Workbench;
let httpApi: Workbench;
let server: RunningServer;
beforeAll(async () => {
  api = createWorkbench({ dataDir: tempDataDir('ckawb-api-') });
  const httpDir = tempDataDir('ckawb-http-');
  httpApi = createWorkbench({ dataDir: httpDir });
  server = await startServer({ api: httpApi, staticDir: rendererDist, uploadDir: join(httpDir, 'uploads') });
});
afterAll(async () => {
  await server?.close();
  await httpApi?.close();
  await api?.close();
  removeTempDataDirs();
});

async function call<T>(method: string, request: unknown): Promise<T> {
  const response = await fetch(`${server.url}api/${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  const envelope = (await response.json()) as { ok: boolean; value?: T; error?: { message: string } };
  if (!envelope.ok) throw new Error(`${method}: ${envelope.error!.message}`);
  return envelope.value!;
}

async function runOverHttp(spec: ExperimentSpec): Promise<RunDetails> {
  for (const m of spec.models) await call('openModel', { path: m.path });
  const experiment = await call<{ id: string }>('createExperiment', { spec });
  const run = await call<{ id: string }>('runExperiment', { experimentId: experiment.id });
  for (;;) {
    const details = await call<RunDetails>('getRun', { runId: run.id });
    if (!['queued', 'running'].includes(details.run.status)) return details;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function runOverCli(spec: ExperimentSpec): Promise<ExperimentResult> {
  const dir = tempDataDir('ckawb-cli-');
  const specFile = join(dir, 'spec.json');
  const out = join(dir, 'result.json');
  writeFileSync(specFile, JSON.stringify(spec));
  const { code, stderr } = await cli(['run', specFile, '--json', out, '--data-dir', dir, '--quiet']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8')) as ExperimentResult;
}

describe('API, HTTP server and CLI give identical numbers', () => {
  for (const kind of kinds) {
    it(`${kind}`, async () => {
      const spec = kindSpecs[kind];
      const viaApi = await runSpec(api, spec);
      expect(viaApi.run.status).toBe('done');
      const viaHttp = await runOverHttp(spec);
      expect(viaHttp.run.status).toBe('done');
      const viaCli = await runOverCli(spec);
      expect(numbersOf(viaHttp.result!)).toEqual(numbersOf(viaApi.result!));
      expect(numbersOf(viaCli)).toEqual(numbersOf(viaApi.result!));
      // The spec as stored carries each model's sha256, whichever shell created it.
      expect(viaCli.spec.models.map((m) => m.sha256)).toEqual(viaApi.result!.models.map((m) => m.sha256));
    }, 240_000);
  }

  it('sanity: the CLI JSON has the accuracy and every pair matrix of the seeds run', async () => {
    const spec = kindSpecs.seeds;
    const dir = tempDataDir('ckawb-sanity-');
    const out = join(dir, 'sanity.json');
    const { code, stdout } = await cli([
      'sanity',
      ...spec.models.map((m) => m.path),
      '--probe',
      spec.probe,
      '--layers',
      spec.layers as string,
      ...spec.measures.flatMap((m) => ['--measure', m]),
      '--json',
      out,
      '--data-dir',
      dir,
      '--quiet',
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^linear CKA: \d+\.\d% of layers have their best match at the corresponding layer/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as ExperimentResult & {
      accuracy: number;
      accuracyByMeasure: Record<string, number>;
    };
    const reference = (await api.listRuns({})).find((r) => r.kind === 'seeds')!;
    const { result } = await api.getRun({ runId: reference.id });
    expect(doc.matrices).toEqual(result!.matrices);
    expect(doc.seeds).toEqual(result!.seeds);
    expect(doc.accuracy).toBe(result!.seeds![0]!.accuracy);
    expect(doc.accuracyByMeasure).toEqual({
      linear: result!.seeds![0]!.accuracy,
      'rbf(threshold=0.4)': result!.seeds![1]!.accuracy,
    });
  }, 240_000);
});
