/**
 * The Electron process model without Electron: main's EngineHost (main/engine-client.ts) talking
 * to the *built* engine host (dist/main/engine-host.js, which imports the compiled engine in
 * dist/app) in a separate process, with model runners forked through the utilityProcess launcher
 * and relayed by main; what happens when the host dies; and which runner entries main agrees to
 * start for the host.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MessagePortMain, UtilityProcess } from 'electron';
import type { ApiEnvelope, ExperimentResult, RunDetails, WorkbenchEvent } from '../../app/common/contract.js';
import { EngineHost } from '../../main/engine-client.js';
import { checkSpawnRequest } from '../../main/runner-relay.js';
import { utilityProcessLauncher, type UtilityFork } from '../../main/utility-launcher.js';
import {
  FakeMessageChannelMain,
  type FakeMessagePortMain,
  fakeUtilityProcess,
  forks,
} from '../helpers/electron-fakes.js';
import { repoRoot } from '../helpers/paths.js';

const builtHost = join(repoRoot, 'dist/main/engine-host.js');
const shim = pathToFileURL(join(repoRoot, 'test/helpers/parent-port-shim.mjs')).href;
const zoo = (name: string) => join(repoRoot, 'models/zoo', `${name}.onnx`);
const dataDirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckawb-host-'));
  dataDirs.push(dir);
  return dir;
};

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** utilityProcess.fork of the built engine host: a Node process with a parentPort over IPC. */
function forkBuiltHost(modulePath: string): UtilityProcess {
  const child = fork(modulePath, [], { execArgv: ['--import', shim], serialization: 'advanced', stdio: 'inherit' });
  const proxy = new EventEmitter() as EventEmitter & { pid?: number; postMessage: unknown; kill: unknown };
  proxy.pid = child.pid;
  proxy.postMessage = (message: unknown, transfer: FakeMessagePortMain[] = []) => {
    const port = transfer[0];
    if (!port) return;
    // The port's far end is in the child: bridge it over IPC.
    port.start();
    port.on('message', ({ data }: { data: unknown }) => child.send({ port: data } as never));
    child.on('message', (m: { port?: unknown }) => {
      if (m && typeof m === 'object' && 'port' in m) port.postMessage(m.port);
    });
    child.send({ connect: message } as never);
  };
  proxy.kill = () => child.kill('SIGKILL');
  child.on('exit', (code, signal) => proxy.emit('exit', code ?? (signal ? 128 : 0)));
  return proxy as unknown as UtilityProcess;
}

/** The environment each host was started with. */
const hostEnvs: Record<string, string | undefined>[] = [];

function engineHost(fork: (path: string) => UtilityProcess, events: WorkbenchEvent[], dataDir = tempDir()) {
  return new EngineHost({
    fork: (path, _args, options) => {
      hostEnvs.push(options.env);
      return fork(path);
    },
    channel: () => new FakeMessageChannelMain() as unknown as { port1: MessagePortMain; port2: MessagePortMain },
    entry: builtHost,
    config: { dataDir },
    runnerLauncher: utilityProcessLauncher(fakeUtilityProcess.fork as unknown as UtilityFork),
    appRoot: repoRoot,
    onEvent: (event) => events.push(event),
    closeTimeoutMs: 20_000,
  });
}

async function call<T>(host: EngineHost, method: string, request: unknown): Promise<T> {
  const envelope: ApiEnvelope<unknown> = await host.invoke(method, request);
  if (!envelope.ok) throw new Error(`${envelope.error.code}: ${envelope.error.message}`);
  return envelope.value as T;
}

describe('the built engine host in its own process', () => {
  it('runs an experiment with runners main started, and closes cleanly', async () => {
    expect(existsSync(builtHost), 'run npm run build first').toBe(true);
    const events: WorkbenchEvent[] = [];
    const host = engineHost(forkBuiltHost, events);
    const before = forks.length;
    const spec = {
      name: 'host smoke',
      kind: 'pair',
      models: [{ path: zoo('plain-d1-s0') }, { path: zoo('plain-d1-s1') }],
      probe: 'fashion-mnist:64',
      layers: 'op:Relu',
      measures: ['linear'],
      options: { threads: 1 },
    };
    const experiment = await call<{ id: string }>(host, 'createExperiment', { spec });
    const run = await call<{ id: string }>(host, 'runExperiment', { experimentId: experiment.id });
    let details: RunDetails;
    for (;;) {
      details = await call<RunDetails>(host, 'getRun', { runId: run.id });
      if (!['queued', 'running'].includes(details.run.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(details.run.status, JSON.stringify(details.run.error)).toBe('done');
    const result = details.result as ExperimentResult;
    expect(result.matrices[0]!.matrix).toHaveLength(3);
    // Runners were compiled JS under dist/app, started by "main" through the utilityProcess launcher.
    const runners = forks.slice(before);
    expect(runners.length).toBeGreaterThanOrEqual(1);
    expect(runners.every((f) => f.modulePath === join(repoRoot, 'dist/app/engine/runner/child.js'))).toBe(true);
    expect(runners.every((f) => f.options.serviceName === 'CKA model runner' && f.options.execArgv?.length === 0)).toBe(
      true,
    );
    // The host itself was started with huge pages for malloc, as the runners are.
    expect(hostEnvs.at(-1)?.GLIBC_TUNABLES).toContain('glibc.malloc.hugetlb=1');
    // Progress and state changes came through as events for the page.
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(events.filter((e) => e.type === 'run').map((e) => (e.type === 'run' ? e.run.status : ''))).toContain('done');
    await host.close();
    await expect(host.invoke('listRuns', {})).resolves.toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    // Every runner main started for the host has ended.
    await expect
      .poll(() => runners.filter((f) => f.process.pid !== undefined).map((f) => f.process.pid), { timeout: 10_000 })
      .toEqual([]);
  });
});

describe('when the engine host dies', () => {
  it('fails the pending calls with a message, tells the page, and starts afresh on the next call', async () => {
    const events: WorkbenchEvent[] = [];
    const started: UtilityProcess[] = [];
    // A host that takes calls but never answers, so a call is pending when it "crashes".
    const silent = () => {
      const proc = new EventEmitter() as EventEmitter & Record<string, unknown>;
      proc.postMessage = () => undefined;
      proc.kill = () => proc.emit('exit', 137);
      started.push(proc as unknown as UtilityProcess);
      return proc as unknown as UtilityProcess;
    };
    const host = engineHost(silent, events);
    const pending = host.invoke('listRuns', {});
    (started[0] as unknown as EventEmitter).emit('exit', 134);
    await expect(pending).resolves.toEqual({
      ok: false,
      error: {
        code: 'INTERNAL',
        message: expect.stringMatching(/^the engine process stopped unexpectedly \(exit code 134\)/),
      },
    });
    expect(events).toEqual([{ type: 'log', level: 'error', message: expect.stringContaining('exit code 134') }]);
    void host.invoke('listRuns', {});
    expect(started).toHaveLength(2);
  });
});

describe('runner entries main starts for the host', () => {
  const tsx = ['--import', pathToFileURL(join(repoRoot, 'node_modules/tsx/dist/esm/index.mjs')).href];
  const ok = (file: string, execArgv: string[] = [], env: Record<string, string> = {}) =>
    checkSpawnRequest({ file, execArgv, env }, repoRoot);

  it('accepts the engine’s runner entry, compiled or from the sources with the TypeScript loader', () => {
    expect(ok(join(repoRoot, 'dist/app/engine/runner/child.js'))).toBeNull();
    expect(ok(join(repoRoot, 'app/engine/runner/child.ts'), tsx, { CKA_RUNNER_TEST_HOOKS: '1' })).toBeNull();
  });

  it('refuses any other file, other options and other environment variables', () => {
    expect(ok('/usr/bin/node')).toMatch(/outside the app/);
    expect(ok(join(repoRoot, '../elsewhere/app/engine/runner/child.js'))).toMatch(/outside the app/);
    expect(ok(join(repoRoot, 'app/engine/runner/model-runner.ts'), tsx)).toMatch(/not the model runner/);
    expect(ok('app/engine/runner/child.js')).toMatch(/outside the app/);
    expect(ok(join(repoRoot, 'dist/app/engine/runner/child.js'), ['--inspect=0'])).toMatch(/unexpected runner options/);
    expect(ok(join(repoRoot, 'dist/app/engine/runner/child.js'), [], { NODE_OPTIONS: '--require x' })).toMatch(
      /environment variable NODE_OPTIONS/,
    );
  });
});
