/**
 * The engine's ProcessLauncher over Electron's utilityProcess: model runners are Chromium-managed
 * child processes (their own heap; a crash in onnxruntime ends only them), started without
 * ELECTRON_RUN_AS_NODE, so the app may disable that fuse. The runner's entry talks over
 * `process.parentPort` (see app/engine/runner/child.ts). Only the main process can fork one.
 */
import type { UtilityProcess } from 'electron';
import { runnerTunables } from '../app/api/runner-prestart.js';
import type { ProcessLauncher, RunnerChannel } from '../app/api/workbench.js';

export type UtilityFork = (
  modulePath: string,
  args: string[],
  options: { serviceName: string; execArgv: string[]; env: Record<string, string | undefined>; stdio: 'pipe' },
) => UtilityProcess;

export function utilityProcessLauncher(fork: UtilityFork, serviceName = 'CKA model runner'): ProcessLauncher {
  return {
    spawn(entry, options) {
      const child = fork(entry.file, [], {
        serviceName,
        execArgv: entry.execArgv,
        // As the CLI's runners: glibc's malloc settings for them (see runnerTunables).
        env: { ...process.env, GLIBC_TUNABLES: runnerTunables(process.env.GLIBC_TUNABLES), ...options.env },
        stdio: 'pipe',
      });
      const channel: RunnerChannel = {
        postMessage: (message) => child.postMessage(message),
        on: (event: 'message' | 'exit' | 'error', listener: (...args: never[]) => void) => {
          if (event === 'error') {
            // A fatal V8 error in the child (its 'exit' follows).
            child.on('error', (type: string, location: string) =>
              (listener as (err: Error) => void)(new Error(`${type} at ${location}`)),
            );
          } else child.on(event as 'message', listener as (message: unknown) => void);
        },
        kill: () => void child.kill(),
        get pid() {
          return child.pid;
        },
        stderr: child.stderr as RunnerChannel['stderr'],
      };
      return channel;
    },
  };
}
