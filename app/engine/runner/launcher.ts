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
import type { NodeEntry } from '../runtime/node-entry.js';

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

/** The Node launcher: `fork` with an IPC channel that carries typed arrays (advanced serialization). */
export const nodeLauncher: ProcessLauncher = {
  spawn(entry, options) {
    const child = fork(entry.file, [], {
      // Only what the entry needs: the host's own flags (vitest's, a debugger's) are not the child's.
      execArgv: entry.execArgv,
      env: { ...process.env, ...options.env },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const ipc = child.channel as { ref?: () => void; unref?: () => void } | undefined | null;
    return {
      postMessage: (message) => {
        child.send(message as never);
      },
      on: (event: 'message' | 'exit' | 'error', listener: (...args: never[]) => void) => {
        // 'close' comes after 'exit' once stderr is drained, so crash messages see its last line.
        child.on(event === 'exit' ? 'close' : event, listener as never);
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
  },
};
