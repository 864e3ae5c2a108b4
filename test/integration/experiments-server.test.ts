/**
 * The HTTP shell over the experiments API refuses what it must, each with a clear error and the
 * right status: no token (401), files the user did not open — also through `..`, symlinks or
 * paths that do not exist (403) —, malformed specs and ids (400), unknown runs (404); and pushes
 * run state and progress over the WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ExperimentSpec, WorkbenchEvent } from '../../app/common/contract.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { tempDataDir, zoo, removeTempDataDirs } from '../helpers/experiments.js';
import { encodeNpy } from '../../app/engine/io/npy.js';

let t: TestServer;
let outside: string;
beforeAll(async () => {
  t = await startTestServer();
  outside = tempDataDir('ckawb-outside-');
  copyFileSync(zoo('plain-d1-s0'), join(outside, 'model.onnx'));
});
afterAll(async () => {
  await t?.close();
  removeTempDataDirs();
  if (t) rmSync(t.dataDir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: { ok: boolean; value?: unknown; error?: { code: string; message: string } };
}

async function post(method: string, request: unknown, token: string | null = t.server.token): Promise<Reply> {
  const response = await fetch(`${t.server.url}api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(request),
  });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

const spec = (models: string[], extra: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name: 'server test',
  kind: models.length === 1 ? 'self' : 'pair',
  models: models.map((path) => ({ path })),
  probe: 'fashion-mnist:60',
  layers: 'op:Relu',
  measures: ['linear'],
  ...extra,
});

describe('experiments over HTTP', () => {
  it('refuses every experiment method without the token', async () => {
    for (const [method, request] of [
      ['createExperiment', { spec: spec([zoo('plain-d1-s0')]) }],
      ['runExperiment', { experimentId: 'exp-x' }],
      ['listRuns', {}],
      ['exportRun', { runId: 'run-x', format: 'json' }],
    ] as const) {
      const reply = await post(method, request, null);
      expect(reply.status, method).toBe(401);
      expect(reply.body.error).toEqual({ code: 'UNAUTHORIZED', message: 'missing or wrong access token' });
    }
    expect((await post('listRuns', {}, 'wrong-token')).status).toBe(401);
  });

  it('refuses files the user did not open, however they are named', async () => {
    const model = join(outside, 'model.onnx');
    const cases: [string, string][] = [
      [model, 'not opened'],
      ['/etc/passwd', 'a system file'],
      [join(t.dataDir, '..', outside.split('/').pop()!, 'model.onnx'), 'a traversal out of the data directory'],
      [join(outside, 'does-not-exist.onnx'), 'a file that does not exist'],
    ];
    const link = join(t.dataDir, 'uploads', 'link.onnx');
    mkdirSync(join(t.dataDir, 'uploads'), { recursive: true });
    symlinkSync(model, link);
    cases.push([link, 'a symlink in the data directory to a file outside']);
    for (const [path, what] of cases) {
      const reply = await post('createExperiment', { spec: spec([path]) });
      expect(reply.status, what).toBe(403);
      expect(reply.body.error!.code, what).toBe('FORBIDDEN');
      expect(reply.body.error!.message, what).toBe(
        `${path}: not a model you opened in the workbench; open it first (Open model, drop it on the window, or upload it)`,
      );
    }
    // A missing file inside the app's own directory is simply not found.
    const missing = await post('createExperiment', { spec: spec([join(t.dataDir, 'uploads', 'gone.onnx')]) });
    expect(missing.status).toBe(404);
    // Probe sets and models used to open a probe follow the same rule.
    const npy = join(outside, 'probe.npy');
    const pixels = Float32Array.from({ length: 20 * 28 * 28 }, (_, i) => Math.sin(i));
    writeFileSync(npy, encodeNpy(pixels, [20, 1, 28, 28]));
    expect((await post('openProbe', { spec: 'fashion-mnist:10', model })).status).toBe(403);
    expect(
      (await post('createExperiment', { spec: spec([zoo('plain-d1-s0')], { probe: `npy:${npy}` }) })).body.error!.code,
    ).toBe('FORBIDDEN');

    // Opening is what allows: the model, then the probe file.
    expect((await post('openModel', { path: model })).status).toBe(200);
    const opened = await post('openProbe', { spec: `npy:${npy}`, model });
    expect(opened.status).toBe(200);
    expect(opened.body.value).toMatchObject({ spec: `npy:${npy}`, kind: 'npy', n: 20, exampleShape: [1, 28, 28] });
    const created = await post('createExperiment', { spec: spec([model], { probe: `npy:${npy}` }) });
    expect(created.status).toBe(200);
    // A link names the file it points to: once that file is opened, the link is that file.
    expect((await post('createExperiment', { spec: spec([link]) })).status).toBe(200);
  });

  it('accepts models uploaded into its own directory', async () => {
    const response = await fetch(`${t.server.url}api/upload?name=seed1.onnx`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.server.token}` },
      body: readFileSync(zoo('plain-d1-s1')),
    });
    const { value } = (await response.json()) as { value: { path: string } };
    expect((await post('createExperiment', { spec: spec([value.path]) })).status).toBe(200);
  });

  it('refuses malformed specs and ids with 400 and says what is wrong', async () => {
    const model = zoo('plain-d1-s0');
    const cases: [unknown, RegExp][] = [
      [
        { spec: spec([model], { kind: 'pair' }) },
        /models: a pair experiment takes exactly 2 models \(A and B\), got 1/,
      ],
      [{ spec: spec([model], { measures: ['cosine'] }) }, /measures\.0: unknown measure 'cosine'/],
      [{ spec: spec([model], { measures: [] }) }, /measures: name at least one measure/],
      [{ spec: spec([model], { probe: 'mnist:100' }) }, /probe: probe 'mnist:100': unknown kind 'mnist'/],
      [
        { spec: spec([model, model], { layers: ['all'] }) },
        /layers: one layer selection per model: 2 models but 1 selections/,
      ],
      [{ spec: { ...spec([model]), extra: 1 } }, /spec: Unrecognized key: "extra"/],
      [{ spec: spec([model], { options: { bootstrap: { samples: 1, seed: 0 } } }) }, /options\.bootstrap\.samples/],
      [
        { spec: spec([model], { models: [{ path: model, sha256: 'abc' }] }) },
        /models\.0\.sha256: a sha256 is 64 hexadecimal digits/,
      ],
      [{ spec: 'not a spec' }, /invalid request for createExperiment: spec/],
    ];
    for (const [request, message] of cases) {
      const reply = await post('createExperiment', request);
      expect(reply.status, String(message)).toBe(400);
      expect(reply.body.error!.code).toBe('BAD_INPUT');
      expect(reply.body.error!.message).toMatch(/^invalid request for createExperiment: /);
      expect(reply.body.error!.message).toMatch(message);
    }
    const badId = await post('getRun', { runId: '../../etc/passwd' });
    expect(badId.status).toBe(400);
    expect(badId.body.error!.message).toMatch(/runId: not a run id/);
    const badExport = await post('exportRun', { runId: 'run-x', format: 'pdf' });
    expect(badExport.status).toBe(400);
  });

  it('answers 404 for runs and experiments that do not exist', async () => {
    for (const [method, request] of [
      ['getRun', { runId: 'run-nope' }],
      ['cancelRun', { runId: 'run-nope' }],
      ['exportRun', { runId: 'run-nope', format: 'csv' }],
      ['runExperiment', { experimentId: 'exp-nope' }],
    ] as const) {
      const reply = await post(method, request);
      expect(reply.status, method).toBe(404);
      expect(reply.body.error!.code).toBe('NOT_FOUND');
    }
  });

  it('pushes run state and progress over the WebSocket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.server.port}/api/events`, [
      'ckawb.events',
      `ckawb.token.${t.server.token}`,
    ]);
    await new Promise((resolve) => ws.on('open', resolve));
    const events: WorkbenchEvent[] = [];
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as WorkbenchEvent));
    await post('openModel', { path: zoo('plain-d2-s0') });
    const created = (await post('createExperiment', { spec: spec([zoo('plain-d2-s0')], { name: 'over ws' }) })).body
      .value as { id: string };
    const run = (await post('runExperiment', { experimentId: created.id })).body.value as { id: string };
    const deadline = Date.now() + 120_000;
    while (!events.some((e) => e.type === 'run' && e.run.id === run.id && e.run.status === 'done')) {
      if (Date.now() > deadline) throw new Error('no done event');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    ws.close();
    const states = events.flatMap((e) => (e.type === 'run' && e.run.id === run.id ? [e.run.status] : []));
    expect(states).toEqual(['queued', 'running', 'done']);
    const progress = events.flatMap((e) => (e.type === 'progress' && e.progress.runId === run.id ? [e.progress] : []));
    expect(progress.map((p) => p.stage)).toEqual(
      expect.arrayContaining(['prepare', 'extract', 'kernels', 'similarity']),
    );
    expect(progress.at(-1)!.fraction).toBeGreaterThan(0.9);
    const exported = await post('exportRun', { runId: run.id, format: 'svg' });
    expect(exported.status).toBe(200);
    expect((exported.body.value as { mediaType: string }).mediaType).toBe('image/svg+xml');
  }, 120_000);
});
