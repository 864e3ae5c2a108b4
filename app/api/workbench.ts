/**
 * The WorkbenchApi implemented once over the engine. Shells (Electron IPC, HTTP server, CLI) only
 * adapt this object; they never reach into the engine themselves.
 */
import { EventEmitter } from 'node:events';
import type { WorkbenchApi, WorkbenchEvent } from './contract.js';
import { appInfo } from './app-info.js';
import { inspectModelFile } from '../engine/onnx/model-file.js';
import type { ProcessLauncher } from '../engine/runner/launcher.js';
import { ModelRunner } from '../engine/runner/model-runner.js';

export interface WorkbenchOptions {
  /** Where the app keeps its database and caches (later issues). */
  dataDir?: string;
  /** How model-runner processes start (Electron: a utilityProcess launcher); default child_process.fork. */
  runnerLauncher?: ProcessLauncher;
}

export interface Workbench extends WorkbenchApi {
  /** Sends an event to every subscriber (used by the engine's long-running work). */
  emit(event: WorkbenchEvent): void;
  close(): Promise<void>;
}

export function createWorkbench(options: WorkbenchOptions = {}): Workbench {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  // Untrusted models run in supervised runner processes (started on first use, ended by close()).
  // Inspecting only builds a session to read types and shapes: one thread, and a process of its
  // own so that opening a model never waits for a long extraction.
  let runner: ModelRunner | null = null;
  const modelRunner = () =>
    (runner ??= new ModelRunner({
      intraOpThreads: 1,
      ...(options.runnerLauncher ? { launcher: options.runnerLauncher } : {}),
    }));
  return {
    appInfo: async () => appInfo(),
    inspectModel: async ({ path }) => inspectModelFile(path, { runner: modelRunner() }),
    subscribe(listener) {
      events.on('event', listener);
      return () => events.off('event', listener);
    },
    emit(event) {
      events.emit('event', event);
    },
    async close() {
      events.removeAllListeners();
      await runner?.close();
    },
  };
}
