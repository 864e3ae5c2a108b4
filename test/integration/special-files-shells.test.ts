/**
 * A FIFO named model.onnx and a link to /dev/zero, through every shell: the engine API, the HTTP
 * server and the command line. Each is BAD_INPUT naming the path, at once — no hang, no read of
 * gigabytes — and while several FIFO requests are open, everything else still answers (static
 * files, other API calls, a good model). `inspect` exits 1 with one line, below 300 MiB peak RSS,
 * having spent under 2 s of CPU beyond the CLI's own start-up (`--version` in the same test: the
 * same modules load) — CPU time, from getrusage of the CLI process, because wall time on a loaded
 * machine says more about the machine; a hang or an endless read is caught by a deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ApiEnvelope } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { makeSpecialFiles, within, type SpecialFiles } from '../helpers/special-files.js';
import { rawRequest, startTestServer, type TestServer } from '../helpers/server.js';
import { cliBin, repoRoot, tinyCnn } from '../helpers/paths.js';

let dir: string;
let special: SpecialFiles;
let fifo: string;
let zero: string;
let api: Workbench;
let t: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ckawb-shells-'));
  special = await makeSpecialFiles(join(dir, 'files'));
  fifo = special.fifo('model.onnx');
  zero = special.zeroLink('zero.onnx');
  api = createWorkbench({ dataDir: join(dir, 'data') });
  t = await startTestServer();
});

afterAll(async () => {
  await special?.release();
  await api?.close();
  await t?.close();
});

const refused = (path: string) => ({ code: 'BAD_INPUT', message: expect.stringContaining(path) });

describe('the engine API', () => {
  it('openModel and inspectModel of a FIFO or a link to /dev/zero are BAD_INPUT naming the path, at once', async () => {
    for (const path of [fifo, zero]) {
      for (const call of [() => api.openModel({ path }), () => api.inspectModel({ path })]) {
        await expect(within(call(), 5000, path)).rejects.toMatchObject(refused(path));
      }
    }
    const npy = special.fifo('probe.npy');
    const npz = special.zeroLink('probe.npz');
    await expect(within(api.openProbe({ spec: `npy:${npy}` }), 5000, npy)).rejects.toMatchObject(refused(npy));
    await expect(within(api.openProbe({ spec: `npz:${npz}` }), 5000, npz)).rejects.toMatchObject(refused(npz));
  });

  it('six FIFO requests at once leave the rest of the API answering', async () => {
    const fifos = Array.from({ length: 6 }, (_, i) => special.fifo(`api-${i}.onnx`));
    const pending = Promise.allSettled(fifos.map((path) => api.openModel({ path })));
    const [info, runs, model] = await within(
      Promise.all([api.appInfo({}), api.listRuns({}), api.openModel({ path: tinyCnn })]),
      10_000,
      'the API while FIFOs are open',
    );
    expect(info.name).toBe('CKA Workbench');
    expect(runs).toEqual([]);
    expect(model.fileName).toBe('tiny_cnn.onnx');
    for (const outcome of await within(pending, 5000, 'the FIFO requests')) expect(outcome.status).toBe('rejected');
  });
});

describe('the HTTP server', () => {
  const post = (method: string, body: unknown) =>
    rawRequest(t.server.port, `/api/${method}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.server.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers 400 BAD_INPUT for a FIFO and a link to /dev/zero, and keeps serving meanwhile', async () => {
    for (const path of [fifo, zero]) {
      const reply = await within(post('openModel', { path }), 5000, path);
      expect(reply.status).toBe(400);
      expect((JSON.parse(reply.body) as ApiEnvelope<unknown>).ok).toBe(false);
      expect(JSON.parse(reply.body).error).toMatchObject(refused(path));
    }
    const fifos = Array.from({ length: 6 }, (_, i) => special.fifo(`server-${i}.onnx`));
    const pending = Promise.all(fifos.map((path) => post('openModel', { path })));
    const [page, runs, model] = await within(
      Promise.all([
        rawRequest(t.server.port, '/index.html'),
        post('listRuns', {}),
        post('openModel', { path: tinyCnn }),
      ]),
      10_000,
      'the server while FIFOs are open',
    );
    expect(page.status).toBe(200);
    expect(runs.status).toBe(200);
    expect(model.status).toBe(200);
    for (const reply of await within(pending, 5000, 'the FIFO requests')) expect(reply.status).toBe(400);
  });
});

describe('the command line', () => {
  const reporter = pathToFileURL(join(repoRoot, 'test/helpers/report-usage.mjs')).href;

  /** Runs the CLI (killed after 20 s); its exit code, stderr lines, wall time, CPU time and peak RSS (MiB). */
  async function cli(args: string[], name: string) {
    const usageFile = join(dir, `${name}.usage.json`);
    const started = performance.now();
    const outcome = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', reporter, cliBin, ...args],
        {
          env: { ...process.env, CKAWB_USAGE_FILE: usageFile, CKA_WORKBENCH_DATA_DIR: join(dir, 'cli-data') },
          timeout: 20_000,
        },
        (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxRssKiB: number; cpuMs: number };
    return {
      ...outcome,
      lines: outcome.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn')),
      ms: performance.now() - started,
      cpuMs: usage.cpuMs,
      rssMiB: usage.maxRssKiB / 1024,
    };
  }

  it('inspect of a FIFO or a link to /dev/zero exits 1 with one line, within 2 s of CPU beyond start-up, below 300 MiB', async () => {
    const startUp = await cli(['--version'], 'version');
    expect(startUp.code).toBe(0);
    for (const [name, path, what] of [
      ['fifo', fifo, 'a FIFO \\(named pipe\\)'],
      ['zero', zero, 'a character device \\(a link to /dev/zero\\)'],
    ] as const) {
      const run = await cli(['inspect', path], name);
      expect(run.code, name).toBe(1);
      expect(run.lines, name).toHaveLength(1);
      expect(run.lines[0]).toMatch(
        new RegExp(`^cka-workbench: error: ${path} \\(the model\\): is ${what}, not a regular file$`),
      );
      const spent = `${name}: ${Math.round(run.cpuMs)} ms of CPU (start-up ${Math.round(startUp.cpuMs)}), ${Math.round(run.ms)} ms wall`;
      expect(run.cpuMs - startUp.cpuMs, spent).toBeLessThan(2000);
      expect(run.rssMiB, name).toBeLessThan(300);
    }
  });
});
