/**
 * The WorkbenchApi implemented once over the engine. Shells (Electron IPC, HTTP server, CLI) only
 * adapt this object; they never reach into the engine themselves.
 *
 * The database and the experiment service open on first use, so commands that only read a model
 * (`inspect`) leave nothing in the data directory; and each group of methods is imported on its
 * first call (lazy-methods.ts), so they load neither the database nor the CKA engine either.
 */
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import type { WorkbenchApi, WorkbenchEvent } from '../common/contract.js';
import { appInfo } from './app-info.js';
import { defaultDataDir } from './data-dir.js';
import { FileAccessPolicy } from './file-access.js';
import { Jobs } from './jobs.js';
import { lazyMethods } from './lazy-methods.js';
import {
  CACHE_METHODS,
  EXPERIMENT_METHODS,
  LIBRARY_METHODS,
  ONE_OFF_METHODS,
  REPEAT_METHODS,
} from './method-groups.js';
import { maxProbeExamplesFromEnv } from './probe-limit.js';
import type { ExperimentService } from '../engine/experiments/service.js';
import { defaultModelsDir } from '../engine/probe/models-dir.js';
import type { ProcessLauncher } from '../engine/runner/launcher.js';

/** How a shell starts model-runner processes (Electron: utility processes). */
export type { ProcessLauncher, RunnerChannel } from '../engine/runner/launcher.js';
import type { ModelRunner, RunnerTimeouts } from '../engine/runner/model-runner.js';
import type { Store } from '../engine/store/store.js';

export interface WorkbenchOptions {
  /** Where the app keeps its database, caches, uploads and exports (default: the platform's data directory). */
  dataDir?: string;
  /** How model-runner processes start (Electron: a utilityProcess launcher); default child_process.fork. */
  runnerLauncher?: ProcessLauncher;
  /** The shipped models/ folder (zoo, built-in probe); default: the repository's. */
  modelsDir?: string;
  /** Cache size limit until one is set through the API (bytes). */
  cacheLimitBytes?: number;
  /** Worker threads of the CKA core (default: the machine's cores; a spec's options.threads wins). */
  threads?: number;
  /**
   * Limits of the model-runner processes: a model that takes longer to load or to run one batch
   * fails its job with TIMEOUT and its process is restarted (default: runner/model-runner.ts).
   */
  runnerTimeouts?: Partial<RunnerTimeouts>;
  /**
   * Every path a request names is allowed (the command line: its user names their own files).
   * Otherwise only files the user opened and the app's own folders are (file-access.ts).
   */
  trustCaller?: boolean;
  /** Where one-off comparisons cache models' activations (default: the data directory's). */
  activationCacheDir?: string;
  /**
   * The most examples a probe may have (default: CKA_WORKBENCH_MAX_PROBE_EXAMPLES, else
   * engine/probe/source.ts DEFAULT_MAX_PROBE_EXAMPLES, a million).
   */
  maxProbeExamples?: number;
}

export interface Workbench extends WorkbenchApi {
  /** Sends an event to every subscriber (used by the engine's long-running work). */
  emit(event: WorkbenchEvent): void;
  /**
   * Imports every group of methods now. The CLI leaves each to its first call (a command loads
   * what it uses); the server and the desktop app call this at start, so a page's first calls do
   * not wait for module loading.
   */
  preload(): Promise<void>;
  close(): Promise<void>;
}

export function createWorkbench(options: WorkbenchOptions = {}): Workbench {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const emit = (event: WorkbenchEvent) => void events.emit('event', event);
  const dataDir = options.dataDir ?? defaultDataDir();
  const modelsDir = options.modelsDir ?? defaultModelsDir();
  const app = appInfo();
  const maxProbeExamples = options.maxProbeExamples ?? maxProbeExamplesFromEnv();
  const probeLimit = maxProbeExamples !== undefined ? { maxProbeExamples } : {};

  // Untrusted models run in supervised runner processes (started on first use, ended by close()).
  // Inspecting only builds a session to read types and shapes: one thread, and a process of its
  // own so that opening a model never waits for a long extraction.
  // The runner's module comes with the library methods, the only ones that use this runner.
  let runner: ModelRunner | null = null;
  const modelRunner = (Runner: typeof ModelRunner) => () =>
    (runner ??= new Runner({
      intraOpThreads: 1,
      ...(options.runnerLauncher ? { launcher: options.runnerLauncher } : {}),
      ...(options.runnerTimeouts ? { timeouts: options.runnerTimeouts } : {}),
    }));

  // Opened once and shared; a failed open (a transient SQLITE_BUSY, a full disk) is forgotten so
  // the next call tries again instead of getting the same rejection until a restart.
  let store: Promise<Store> | null = null;
  const openStore = () => {
    if (store) return store;
    const opening = import('../engine/store/store.js').then(({ Store }) =>
      Store.open(dataDir, options.cacheLimitBytes !== undefined ? { cacheLimitBytes: options.cacheLimitBytes } : {}),
    );
    opening.catch(() => {
      if (store === opening) store = null;
    });
    return (store = opening);
  };
  let service: Promise<ExperimentService> | null = null;
  const experiments = () => {
    if (service) return service;
    const starting = Promise.all([openStore(), import('../engine/experiments/service.js')]).then(
      ([s, { ExperimentService }]) =>
        new ExperimentService({
          store: s,
          emit,
          app: { version: app.version, onnxruntime: app.onnxruntime },
          modelsDir,
          ...(options.runnerLauncher ? { runnerLauncher: options.runnerLauncher } : {}),
          ...(options.runnerTimeouts ? { runnerTimeouts: options.runnerTimeouts } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...probeLimit,
        }),
    );
    starting.catch(() => {
      if (service === starting) service = null;
    });
    return (service = starting);
  };

  const policy = new FileAccessPolicy({
    appDirs: [dataDir, modelsDir],
    remembered: async (path) => (await openStore()).library.has(path),
    ...(options.trustCaller ? { trustCaller: true } : {}),
  });
  const jobs = new Jobs(emit);
  const groups: (() => Promise<unknown>)[] = [];
  const register = (preload: () => Promise<unknown>) => void groups.push(preload);

  return {
    appInfo: async () => appInfo(),
    ...lazyMethods(
      LIBRARY_METHODS,
      async () =>
        (await import('./library-api.js')).libraryMethods({
          policy,
          store: openStore,
          runner: modelRunner((await import('../engine/runner/model-runner.js')).ModelRunner),
          modelsDir,
          uploadsDir: join(dataDir, 'uploads'),
          ...probeLimit,
        }),
      register,
    ),
    ...lazyMethods(
      EXPERIMENT_METHODS,
      async () =>
        (await import('./experiments-api.js')).experimentMethods({
          policy,
          store: openStore,
          service: experiments,
          app,
        }),
      register,
    ),
    ...lazyMethods(
      REPEAT_METHODS,
      async () => (await import('./repeat-api.js')).repeatMethods({ policy, store: openStore, modelsDir, app }),
      register,
    ),
    ...lazyMethods(
      CACHE_METHODS,
      async () => (await import('./cache-api.js')).cacheMethods({ store: openStore }),
      register,
    ),
    ...lazyMethods(
      ONE_OFF_METHODS,
      async () =>
        (await import('./one-off-api.js')).oneOffMethods({
          policy,
          jobs,
          activationCacheDir: options.activationCacheDir ?? join(dataDir, 'activations'),
          // A cache folder of the caller's own is theirs: not counted, bounded or evicted by the app.
          ...(options.activationCacheDir === undefined ||
          resolve(options.activationCacheDir) === resolve(dataDir, 'activations')
            ? { store: openStore }
            : {}),
          modelsDir,
          app,
          runnerOptions: {
            ...(options.runnerLauncher ? { launcher: options.runnerLauncher } : {}),
            ...(options.runnerTimeouts ? { timeouts: options.runnerTimeouts } : {}),
          },
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...probeLimit,
        }),
      register,
    ),
    subscribe(listener) {
      events.on('event', listener);
      return () => events.off('event', listener);
    },
    emit,
    async preload() {
      await Promise.all(groups.map((load) => load()));
    },
    async close() {
      // Jobs and runs first (runs write their end to the database), then the database, then the
      // runner; each step runs even when an earlier one throws.
      jobs.cancelAll();
      try {
        await (await service?.catch(() => null))?.close();
      } finally {
        try {
          (await store?.catch(() => null))?.close();
        } finally {
          events.removeAllListeners();
          await runner?.close();
        }
      }
    },
  };
}
