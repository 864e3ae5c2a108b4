import { afterAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import {
  nodeLauncher,
  prelaunch,
  runnerEntry,
  runnerTunables,
  type ProcessLauncher,
  type RunnerChannel,
} from '../../app/engine/runner/launcher.js';
import { ModelRunner } from '../../app/engine/runner/model-runner.js';
import { TEST_HOOKS_ENV, type WireTensor } from '../../app/engine/runner/protocol.js';
import type { RunnerProcess } from '../../app/engine/runner/runner-process.js';

const fixtures = new URL('../fixtures/models/', import.meta.url).pathname;
const tinyCnn = join(fixtures, 'tiny_cnn.onnx');

function input(batch: number): WireTensor[] {
  const data = new Float32Array(batch * 784).map((_, i) => Math.sin(i * 0.1));
  return [{ name: 'input', type: 'float32', dims: [batch, 1, 28, 28], data }];
}

/** Whether a process with this pid exists (signal 0 only checks). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends a test-hook request (abort / hang / exit) to the process, as a model's crash or hang would. */
function trigger(process: RunnerProcess, action: 'abort' | 'hang' | 'exit', timeoutMs = 10_000) {
  return process.request({ type: 'debug', action }, { timeoutMs, model: tinyCnn, doing: 'running batch 1/4' });
}

describe('model runner supervision', async () => {
  const { facts } = await loadModel(tinyCnn);
  const model = { path: facts.path, sha256: facts.sha256 };
  let spawned = 0;
  // A launcher of our own, as the Electron shell supplies one: the runner only sees the interface.
  const countingLauncher: ProcessLauncher = {
    spawn(entry, options) {
      spawned++;
      return nodeLauncher.spawn(entry, options);
    },
  };
  const runner = new ModelRunner({
    launcher: countingLauncher,
    env: { [TEST_HOOKS_ENV]: '1' },
    timeouts: { runMs: 1500 },
  });
  afterAll(() => runner.close());

  it('runs a session in the child and returns typed arrays', async () => {
    const out = await runner.withSession({ model, extraOutputs: ['/stage1/relu/Relu_output_0'] }, (s) =>
      s.run(input(2), ['logits', '/stage1/relu/Relu_output_0']),
    );
    expect(out.map((t) => [t.name, t.dims])).toEqual([
      ['logits', [2, 10]],
      ['/stage1/relu/Relu_output_0', [2, 4, 28, 28]],
    ]);
    expect(out[1]!.data).toBeInstanceOf(Float32Array);
    expect(Math.min(...(out[1]!.data as Float32Array))).toBe(0); // ReLU output
    expect(spawned).toBe(1);
  });

  it('a crash fails the job with RUNTIME naming the model; the next job gets a fresh process', async () => {
    const process = runner.processes()[0]!;
    const session = await runner.openSession({ model });
    const pid = process.pid;
    await expect(trigger(process, 'abort')).rejects.toMatchObject({
      code: 'RUNTIME',
      message: `${tinyCnn}: the model runner crashed while running batch 1/4 (killed by SIGABRT)`,
    });
    expect(session.alive).toBe(false);
    await expect(session.run(input(1), ['logits'])).rejects.toMatchObject({ code: 'RUNTIME' });
    await session.close();
    const out = await runner.withSession({ model }, (s) => s.run(input(1), ['logits']));
    expect(out[0]!.dims).toEqual([1, 10]);
    expect(process.pid).not.toBe(pid);
  });

  it('an exit with a code is reported as such', async () => {
    await expect(trigger(runner.processes()[0]!, 'exit')).rejects.toThrow(
      /crashed while running batch 1\/4 \(exit code 3\)/,
    );
  });

  it('a hang past the timeout fails with TIMEOUT, the process is killed and the next job works', async () => {
    const process = runner.processes()[0]!;
    await runner.withSession({ model }, async () => undefined); // make sure a process is up
    const started = performance.now();
    await expect(trigger(process, 'hang', 1500)).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: `${tinyCnn}: running batch 1/4 took longer than 1.5 s; the model runner was stopped`,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    const out = await runner.withSession({ model }, (s) => s.run(input(3), ['logits']));
    expect(out[0]!.dims).toEqual([3, 10]);
  });

  it('cancelling mid-request kills the child and fails with CANCELLED; a cancelled wait for a process too', async () => {
    const process = runner.processes()[0]!;
    await runner.withSession({ model }, async () => undefined);
    const controller = new AbortController();
    const pending = process.request(
      { type: 'debug', action: 'hang' },
      { timeoutMs: 60_000, signal: controller.signal, model: tinyCnn, doing: 'testing' },
    );
    setTimeout(() => controller.abort(), 200);
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });

    // With the only process leased, a second session waits; aborting the wait rejects it.
    const holder = await runner.openSession({ model });
    const waiting = new AbortController();
    const second = runner.openSession({ model }, { signal: waiting.signal });
    waiting.abort();
    await expect(second).rejects.toMatchObject({ code: 'CANCELLED' });
    await holder.close();
    const out = await runner.withSession({ model }, (s) => s.run(input(1), ['logits']));
    expect(out[0]!.dims).toEqual([1, 10]);
  });

  it('a model onnxruntime refuses is a RUNTIME error, and the process stays usable', async () => {
    await expect(runner.openSession({ model, extraOutputs: ['no_such_tensor'] })).rejects.toMatchObject({
      code: 'RUNTIME',
      message: expect.stringMatching(new RegExp(`^${tinyCnn}: onnxruntime cannot load the model: `)),
    });
    const out = await runner.withSession({ model }, (s) => s.run(input(1), ['logits']));
    expect(out[0]!.dims).toEqual([1, 10]);
  });

  it('a model file that changed since it was hashed is refused', async () => {
    await expect(runner.openSession({ model: { path: tinyCnn, sha256: '0'.repeat(64) } })).rejects.toMatchObject({
      code: 'BAD_MODEL',
      message: `${tinyCnn}: the file changed on disk while it was being opened`,
    });
  });

  it('a host that never calls close() still exits, and leaves no spill folder behind', async () => {
    const { execFile } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const script = [
      `import { ActivationEngine } from ${JSON.stringify(new URL('../../app/engine/activations/engine.ts', import.meta.url).pathname)};`,
      'const engine = new ActivationEngine();',
      `const r = await engine.extract({ model: ${JSON.stringify(tinyCnn)}, probe: 'random:300', layers: 'all' });`,
      'console.log(engine.runner.spillFolder(), r.layers.length);',
    ].join('\n');
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { timeout: 30_000 },
        (err, out) => (err ? reject(err) : resolve({ stdout: out })),
      ),
    );
    const [folder, layers] = stdout.trim().split(' ');
    expect(Number(layers)).toBe(8);
    expect(existsSync(folder!)).toBe(false);
  });

  it('closing while a process starts kills it and fails the pending open with CANCELLED', async () => {
    const pids: number[] = [];
    const watching: ProcessLauncher = {
      spawn(entry, options) {
        const channel = nodeLauncher.spawn(entry, options);
        pids.push(channel.pid!);
        return channel;
      },
    };
    const starting = new ModelRunner({ launcher: watching });
    try {
      const open = starting.openSession({ model });
      await vi.waitFor(() => expect(pids).toHaveLength(1));
      await starting.close();
      await expect(open).rejects.toMatchObject({ code: 'CANCELLED', message: 'the model runner was shut down' });
      await vi.waitFor(() => expect(isAlive(pids[0]!)).toBe(false), { timeout: 5000 });
      await expect(starting.openSession({ model })).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(pids).toHaveLength(1);
    } finally {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a request that meets the closed pipe of a crashing process is reported as the crash', async () => {
    // A channel whose process dies as the request is sent: the send fails with EPIPE, then the exit comes.
    const listeners: Record<string, ((...args: unknown[]) => void)[]> = { message: [], exit: [], error: [] };
    const emit = (event: string, ...args: unknown[]) => listeners[event]!.forEach((l) => l(...args));
    const dying: ProcessLauncher = {
      spawn: () => {
        queueMicrotask(() => emit('message', { type: 'ready', pid: 1 }));
        return {
          on: (event: string, listener: (...args: never[]) => void) =>
            listeners[event]!.push(listener as (...args: unknown[]) => void),
          postMessage: () => {
            const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
            setImmediate(() => emit('error', epipe));
            setImmediate(() => setImmediate(() => emit('exit', null, 'SIGSEGV')));
          },
          kill: () => undefined,
        } as RunnerChannel;
      },
    };
    const crashing = new ModelRunner({ launcher: dying });
    try {
      await expect(trigger(crashing.processes()[0]!, 'exit')).rejects.toMatchObject({
        code: 'RUNTIME',
        message: `${tinyCnn}: the model runner crashed while running batch 1/4 (killed by SIGSEGV)`,
      });
    } finally {
      await crashing.close();
    }
  });

  it('with two processes, one session crashing leaves the other running', async () => {
    const pair = new ModelRunner({ maxProcesses: 2, env: { [TEST_HOOKS_ENV]: '1' } });
    try {
      expect(pair.intraOpThreads).toBeGreaterThanOrEqual(1);
      const a = await pair.openSession({ model });
      const b = await pair.openSession({ model });
      const [pa, pb] = pair.processes();
      expect(pa!.pid).not.toBe(pb!.pid);
      await expect(trigger(pa!, 'abort')).rejects.toMatchObject({ code: 'RUNTIME' });
      expect(a.alive).toBe(false);
      expect(b.alive).toBe(true);
      expect((await b.run(input(2), ['logits']))[0]!.dims).toEqual([2, 10]);
      await a.close();
      await b.close();
    } finally {
      await pair.close();
    }
  });

  it('takes a process started ahead (prelaunch) once it is asked for, even after it said it was ready; never a dead one', async () => {
    const env = { CKA_PRELAUNCH_TEST: String(process.pid) };
    // A host whose environment names extra CA certificates (a runner does no TLS: it starts without)
    const certificates = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = '/etc/ssl/certs/ca-certificates.crt';
    const [dead, started] = prelaunch(runnerEntry(), { env }, 2);
    if (certificates === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = certificates;
    process.kill(dead!, 'SIGKILL');
    await vi.waitFor(() => expect(isAlive(dead!)).toBe(false));
    // Its 'ready' comes right after onnxruntime is loaded: before anyone listens.
    await vi.waitFor(() => expect(readFileSync(`/proc/${started}/maps`, 'utf8')).toContain('libonnxruntime'), {
      timeout: 20_000,
      interval: 20,
    });
    const ahead = new ModelRunner({ env });
    try {
      const out = await ahead.withSession({ model }, (s) => s.run(input(3), ['logits']));
      expect(out[0]!.dims).toEqual([3, 10]);
      expect(ahead.processes()[0]!.pid).toBe(started);
      // Its malloc asks for huge pages and keeps freed memory (launcher.ts runnerTunables), keeping
      // a setting of the user's. glibc 2.36 splits the variable at its colons in place, so the
      // process's environment block is read as one string with NULs for colons.
      const environ = readFileSync(`/proc/${started}/environ`, 'utf8').replaceAll('\0', ':');
      expect(environ).toContain(`GLIBC_TUNABLES=${runnerTunables(process.env.GLIBC_TUNABLES)}:`);
      expect(environ).not.toContain('NODE_EXTRA_CA_CERTS=');
      const runnerDefaults = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456';
      expect(runnerTunables(undefined)).toBe(`glibc.malloc.hugetlb=1:${runnerDefaults}`);
      expect(runnerTunables('glibc.malloc.arena_max=2')).toBe(
        `glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:${runnerDefaults}`,
      );
      expect(runnerTunables('glibc.malloc.hugetlb=0:glibc.malloc.trim_threshold=0')).toBe(
        'glibc.malloc.hugetlb=0:glibc.malloc.trim_threshold=0:glibc.malloc.mmap_threshold=33554432',
      );
    } finally {
      await ahead.close();
    }
  });

  it('reads a large reply into the buffer of one its caller recycled, and only then', async () => {
    const relu = '/stage1/relu/Relu_output_0';
    // 90 examples: a smaller reply than 100's, still over 1 MiB (spilled), into the larger buffer.
    const shifted = input(90);
    (shifted[0]!.data as Float32Array).forEach((v, i, x) => (x[i] = v + 0.5));
    const fresh = await runner.withSession({ model, extraOutputs: [relu] }, (t) => t.run(shifted, [relu]));
    await runner.withSession({ model, extraOutputs: [relu] }, async (s) => {
      // Two at once: two spill files, the second (90 examples) shorter than the first's buffer.
      const [a, b] = await Promise.all([s.run(input(100), [relu]), s.run(input(90), [relu])]);
      expect(b[0]!.data.buffer).not.toBe(a[0]!.data.buffer); // a is still the caller's
      s.recycle(a);
      const c = await s.run(shifted, [relu]);
      expect(c[0]!.data.buffer).toBe(a[0]!.data.buffer);
      expect(c[0]!.dims).toEqual([90, 4, 28, 28]);
      expect(c[0]!.data).toEqual(fresh[0]!.data);
    });
  });
});
