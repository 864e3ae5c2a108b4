/**
 * How the runner process is started. The engine only needs a message channel to a fresh process
 * and a way to end it; under Node that is `child_process.fork`, in Electron the shell supplies a
 * launcher over `utilityProcess.fork` (same shape: `postMessage`, 'message' and 'exit' events,
 * `kill()`), so the engine never imports Electron.
 *
 *   // main/: an Electron launcher
 *   const electronLauncher: ProcessLauncher = {
 *     spawn: (entry, { env }) => {
 *       const child = utilityProcess.fork(entry.file, [], { serviceName: 'cka-model-runner',
 *         execArgv: entry.execArgv, env: { ...process.env, ...env }, stdio: 'pipe' });
 *       return { postMessage: (m) => child.postMessage(m), on: (ev, l) => void child.on(ev, l),
 *                kill: () => void child.kill(), get pid() { return child.pid; }, stderr: child.stderr };
 *     },
 *   };
 */
import { fork } from 'node:child_process';
import type { Readable } from 'node:stream';
import { resolveNodeEntry, type NodeEntry } from '../runtime/node-entry.js';
import { computeEnv } from './compute-env.mjs';

// The runners' malloc settings, shared with the shells that start the engine's own processes.
export { runnerTunables } from './compute-env.mjs';

/** The model runner's entry point: ./child.ts, or its compiled .js. */
export const runnerEntry = (): NodeEntry => resolveNodeEntry(import.meta.url, './child.js');

export interface RunnerChannel {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  /** The process ended: exit code, or the signal that ended it. */
  on(event: 'exit', listener: (code: number | null, signal?: NodeJS.Signals | null) => void): void;
  /** The process could not be started or the channel broke. */
  on(event: 'error', listener: (err: Error) => void): void;
  kill(): void;
  readonly pid?: number | undefined;
  /** The child's stderr, when piped: its last lines go into crash messages. */
  readonly stderr?: Readable | null;
  /** Let the host exit while this (idle) process runs; `ref` undoes it. Optional. */
  ref?(): void;
  unref?(): void;
}

export interface LaunchOptions {
  /** Extra environment variables for the child. */
  env: Record<string, string>;
}

export interface ProcessLauncher {
  spawn(entry: NodeEntry, options: LaunchOptions): RunnerChannel;
}

/** A forked runner process as a channel; events that come before anyone listens wait for the first listener. */
function forkChannel(entry: NodeEntry, options: LaunchOptions): { channel: RunnerChannel; alive: () => boolean } {
  const child = fork(entry.file, [], {
    // Only what the entry needs: the host's own flags (vitest's, a debugger's) are not the child's.
    execArgv: entry.execArgv,
    env: { ...computeEnv(process.env), ...options.env },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const ipc = child.channel as { ref?: () => void; unref?: () => void } | undefined | null;
  // 'close' comes after 'exit' once stderr is drained, so crash messages see its last line.
  const childEvent = { message: 'message', exit: 'close', error: 'error' } as const;
  type Event = keyof typeof childEvent;
  const listeners: Record<Event, ((...args: never[]) => void)[]> = { message: [], exit: [], error: [] };
  const early: { event: Event; args: unknown[] }[] = [];
  for (const event of Object.keys(childEvent) as Event[]) {
    child.on(childEvent[event], (...args: unknown[]) => {
      if (listeners[event].length === 0) early.push({ event, args });
      else for (const listener of listeners[event]) (listener as (...a: unknown[]) => void)(...args);
    });
  }
  const channel: RunnerChannel = {
    postMessage: (message) => {
      child.send(message as never);
    },
    on: (event: Event, listener: (...args: never[]) => void) => {
      listeners[event].push(listener);
      for (const queued of early.filter((e) => e.event === event)) {
        early.splice(early.indexOf(queued), 1);
        (listener as (...a: unknown[]) => void)(...queued.args);
      }
    },
    kill: () => {
      child.kill('SIGKILL');
    },
    get pid() {
      return child.pid;
    },
    stderr: child.stderr,
    // The process, its IPC channel and its stderr pipe each keep the host's event loop alive.
    ref: () => {
      child.ref();
      ipc?.ref?.();
      (child.stderr as { ref?: () => void } | null)?.ref?.();
    },
    unref: () => {
      child.unref();
      ipc?.unref?.();
      (child.stderr as { unref?: () => void } | null)?.unref?.();
    },
  };
  return { channel, alive: () => child.exitCode === null && child.signalCode === null && child.connected };
}

/** Processes started before anyone asked (prelaunch), by entry and environment. */
const prelaunched: { key: string; channel: RunnerChannel; alive: () => boolean }[] = [];
const keyOf = (entry: NodeEntry, options: LaunchOptions) =>
  JSON.stringify([entry.file, entry.execArgv, Object.entries(options.env).sort()]);

/**
 * Starts `count` runner processes now, for the next `nodeLauncher.spawn` calls with the same entry
 * and environment to take: a command that will run models starts them before it loads the rest of
 * itself, so Node's start and onnxruntime's load (about half a second) overlap its own. Unused
 * ones do not keep the host alive, and end with it.
 */
export function prelaunch(entry: NodeEntry, options: LaunchOptions, count: number): (number | undefined)[] {
  const pids: (number | undefined)[] = [];
  for (let i = 0; i < count; i++) {
    const launched = forkChannel(entry, options);
    launched.channel.unref?.();
    prelaunched.push({ key: keyOf(entry, options), ...launched });
    pids.push(launched.channel.pid);
  }
  return pids;
}

/** The Node launcher: `fork` with an IPC channel that carries typed arrays (advanced serialization). */
export const nodeLauncher: ProcessLauncher = {
  spawn(entry, options) {
    const key = keyOf(entry, options);
    for (let i = 0; i < prelaunched.length; i++) {
      const ready = prelaunched[i]!;
      if (ready.key !== key || !ready.alive()) continue;
      prelaunched.splice(i, 1);
      ready.channel.ref?.();
      return ready.channel;
    }
    return forkChannel(entry, options).channel;
  },
};
