/**
 * Fault injection for the reliability tests (issue 8): a model-runner launcher that makes chosen
 * models crash or hang inside the real runner process, as a hostile model would make onnxruntime
 * do; a probe of which runner processes exist; and a small HTTP client for the server tests.
 *
 * The launcher wraps the real one (child_process.fork of the real runner): only the moment of the
 * fault is chosen by the test. A crash is a real signal to the real child (SIGSEGV, as a native
 * crash ends it); a hang is SIGSTOP, so the child never answers, like a native call that never
 * returns. Everything the engine sees — exit codes, signals, silence — is what it would see then.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ApiEnvelope, RunDetails } from '../../app/common/contract.js';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';
import { nodeLauncher, type ProcessLauncher, type RunnerChannel } from '../../app/engine/runner/launcher.js';
import type { RunnerRequest } from '../../app/engine/runner/protocol.js';

export type FaultAction = 'crash' | 'hang' | 'kill';

export interface FaultRule {
  /** Model paths the rule applies to. */
  model: RegExp;
  /** When: at the session's creation (`open`) or at its k-th `run` (1-based, default 1). */
  on: 'open' | 'run';
  run?: number;
  action: FaultAction;
}

export interface SpawnedRunner {
  pid: number | undefined;
  /** Models opened in this process, in order. */
  models: string[];
  faults: { model: string; action: FaultAction; at: string }[];
}

export interface FaultLauncher extends ProcessLauncher {
  readonly spawned: SpawnedRunner[];
  rules: FaultRule[];
  /**
   * The first row file (runner/row-files.ts) whose final path matches is handed to the runner
   * as /dev/full: its writes fail with ENOSPC, as on a full disk. That path, once met.
   */
  fullDisk: RegExp | null;
  readonly fullDiskHits: string[];
}

const SIGNALS: Record<FaultAction, NodeJS.Signals> = { crash: 'SIGSEGV', hang: 'SIGSTOP', kill: 'SIGKILL' };

/**
 * `channel` with its requests going through `postMessage` (which forwards them to the child, or
 * not); everything else is the channel's own. For launchers that watch or intercept what the
 * engine asks of its runner processes.
 */
export function withPostMessage(channel: RunnerChannel, postMessage: (message: unknown) => void): RunnerChannel {
  return {
    on: channel.on.bind(channel) as RunnerChannel['on'],
    postMessage,
    kill: () => channel.kill(),
    get pid() {
      return channel.pid;
    },
    stderr: channel.stderr ?? null,
    ...(channel.ref ? { ref: () => channel.ref!() } : {}),
    ...(channel.unref ? { unref: () => channel.unref!() } : {}),
  };
}

/** A launcher whose runner processes crash or hang when the rules say so. */
export function faultLauncher(rules: FaultRule[] = []): FaultLauncher {
  const launcher: FaultLauncher = {
    spawned: [],
    rules,
    fullDisk: null,
    fullDiskHits: [],
    spawn(entry, options) {
      const channel = nodeLauncher.spawn(entry, options);
      const record: SpawnedRunner = { pid: channel.pid, models: [], faults: [] };
      launcher.spawned.push(record);
      let model = '';
      let runs = 0;
      // The request that meets a rule is pending in the host but never reaches the child, which
      // gets the signal instead: it cannot answer first. (Delivered with the request, a SIGSEGV
      // could lose the race — Node's own SIGSEGV handler runs on one thread while another goes
      // on — and the crash would land on the next request.)
      const fire = (action: FaultAction, at: string) => {
        record.faults.push({ model, action, at });
        if (channel.pid !== undefined) process.kill(channel.pid, SIGNALS[action]);
      };
      return withPostMessage(channel, (message) => {
        const m = message as { type?: string; model?: { path: string } };
        if (m.type === 'open' && m.model) {
          model = m.model.path;
          runs = 0;
          record.models.push(model);
          const rule = launcher.rules.find((r) => r.on === 'open' && r.model.test(model));
          if (rule) return fire(rule.action, 'open');
        } else if (m.type === 'run') {
          runs++;
          const rule = launcher.rules.find((r) => r.on === 'run' && r.model.test(model) && (r.run ?? 1) === runs);
          if (rule) return fire(rule.action, `run ${runs}`);
          const files = (message as RunnerRequest & { type: 'run' }).files;
          const full = launcher.fullDisk;
          if (files && full) {
            // The first matching file meets the full disk; the others are written as usual.
            const layers = files.layers.map((spec) => {
              if (!spec || !full.test(spec.target)) return spec;
              if (launcher.fullDiskHits.length === 0) launcher.fullDiskHits.push(spec.target);
              return spec.target === launcher.fullDiskHits[0] ? { ...spec, file: '/dev/full' } : spec;
            });
            return channel.postMessage({ ...(message as object), files: { layers } });
          }
        }
        channel.postMessage(message);
      });
    },
  };
  return launcher;
}

/** True while a process with this pid exists (a zombie counts as gone once reaped). */
export function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A copy of an ONNX model with a different sha256 (a note in its doc_string), so that the cache
 * of the original never answers for it.
 */
export function distinctCopy(source: string, target: string, note: string): string {
  const model = decodeModel(readFileSync(source), source);
  model.docString = `${model.docString}\n${note}`;
  writeFileSync(target, encodeModel(model));
  return target;
}

export interface HttpClient {
  call<T>(method: string, request: unknown): Promise<{ status: number; body: ApiEnvelope<T> }>;
  value<T>(method: string, request: unknown): Promise<T>;
  /** Polls getRun until the run is no longer queued or running. */
  waitForRun(runId: string, timeoutMs: number): Promise<RunDetails>;
}

export function httpClient(baseUrl: string, token: string): HttpClient {
  const client: HttpClient = {
    async call<T>(method: string, request: unknown) {
      const response = await fetch(`${baseUrl}api/${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify(request),
      });
      return { status: response.status, body: (await response.json()) as ApiEnvelope<T> };
    },
    async value<T>(method: string, request: unknown) {
      const { body } = await client.call<T>(method, request);
      if (!body.ok) throw new Error(`${method}: ${body.error.code}: ${body.error.message}`);
      return body.value;
    },
    async waitForRun(runId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const details = await client.value<RunDetails>('getRun', { runId });
        if (!['queued', 'running'].includes(details.run.status)) return details;
        if (Date.now() > deadline) throw new Error(`run ${runId} still ${details.run.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
  return client;
}

/**
 * Another process holding the workbench database's write lock, as a second app or a script would:
 * `lock(ms)` takes it (BEGIN IMMEDIATE) and resolves once held; it is released after `ms`.
 */
export interface DatabaseLocker {
  lock(ms: number): Promise<void>;
  /** Resolves when the lock taken last has been released. */
  released(): Promise<void>;
  close(): Promise<void>;
}

export async function databaseLocker(file: string): Promise<DatabaseLocker> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 60000 });
    require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
      const ms = Number(line);
      db.exec('BEGIN IMMEDIATE');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('COMMIT'); process.stdout.write('released\\n'); }, ms);
    });
    process.stdin.on('end', () => { db.close(); process.exit(0); });
    process.stdout.write('ready\\n');
  `;
  const { spawn } = await import('node:child_process');
  const { createInterface } = await import('node:readline');
  const child = spawn(process.execPath, ['-e', script, file], {
    cwd: process.cwd(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map<string, (() => void)[]>();
  lines.on('line', (line) => {
    const list = waiting.get(line) ?? [];
    waiting.set(line, []);
    list.forEach((resolve) => resolve());
  });
  const next = (line: string) =>
    new Promise<void>((resolve) => waiting.set(line, [...(waiting.get(line) ?? []), resolve]));
  await next('ready');
  let releasedPromise = Promise.resolve();
  return {
    async lock(ms) {
      const locked = next('locked');
      releasedPromise = next('released');
      child.stdin.write(`${ms}\n`);
      await locked;
    },
    released: () => releasedPromise,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
