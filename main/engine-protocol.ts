/**
 * Messages between the Electron main process and the engine host (a utilityProcess that runs the
 * whole WorkbenchApi: SQLite, caches, the CKA core's worker threads). They travel over one
 * MessageChannelMain port that main hands to the host at start:
 *
 *   main → host   { type: 'connect', config } on process.parentPort, with the port (once)
 *                 invoke      an API call from the page (already checked to come from our page)
 *                 runner-*    what a model-runner process main started for the host said or did
 *                 close       end the workbench (runs record their end), then the process
 *   host → main   reply       the envelope of one invoke
 *                 event       a WorkbenchEvent for the page
 *                 runner-spawn/-post/-kill   start, talk to, end a model runner (a utilityProcess
 *                             only main can start; see ./runner-relay.ts)
 *                 closed      the workbench is closed; the host exits next
 *
 * Only structured-clone values cross (typed arrays included), never functions.
 */
import type { ApiEnvelope, WorkbenchEvent } from '../app/common/contract.js';

export interface EngineConfig {
  dataDir: string;
  /** The shipped models/ folder (packaged apps: next to the app's resources). */
  modelsDir?: string;
}

export interface ConnectMessage {
  type: 'connect';
  config: EngineConfig;
}

export interface RunnerSpawnRequest {
  file: string;
  execArgv: string[];
  env: Record<string, string>;
}

export type MainToHost =
  | { type: 'invoke'; id: number; method: string; request: unknown }
  | { type: 'runner-message'; channel: number; message: unknown }
  | { type: 'runner-stderr'; channel: number; chunk: string }
  | { type: 'runner-exit'; channel: number; code: number | null }
  | { type: 'runner-error'; channel: number; message: string }
  | { type: 'close' };

export type HostToMain =
  | { type: 'reply'; id: number; envelope: ApiEnvelope<unknown> }
  | { type: 'event'; event: WorkbenchEvent }
  | ({ type: 'runner-spawn'; channel: number } & RunnerSpawnRequest)
  | { type: 'runner-post'; channel: number; message: unknown }
  | { type: 'runner-kill'; channel: number }
  | { type: 'closed' };

/** The part of Electron's MessagePortMain both ends use (main and the utility process alike). */
export interface PortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  start(): void;
  close(): void;
}

export function isMessage<T extends { type: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
