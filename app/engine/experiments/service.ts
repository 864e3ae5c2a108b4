/**
 * Runs of experiments in this process: a queue (one run at a time — extraction and the CKA core
 * already use every core), each run's status in the database as it changes, progress and state
 * as events, cancellation, and a clean stop when the app closes (running and queued runs become
 * `interrupted`, with the reason, keeping what they finished).
 */
import { setMaxListeners } from 'node:events';
import type { ExperimentOptions, RunInfo, RunProgress, WorkbenchEvent } from '../../common/contract.js';
import { WorkbenchError, toErrorData } from '../../common/errors.js';
import { ActivationCache } from '../activations/cache.js';
import { ActivationEngine } from '../activations/engine.js';
import { CkaEngine } from '../similarity/index.js';
import type { ProcessLauncher } from '../runner/launcher.js';
import type { RunnerTimeouts } from '../runner/model-runner.js';
import { runInfo, type RunRecord } from '../store/history.js';
import type { Store } from '../store/store.js';
import { CLOSING, executeRun, type RunOutcome } from './run-experiment.js';
import { parseExperimentSpec } from './spec.js';

export interface ExperimentServiceOptions {
  store: Store;
  emit(event: WorkbenchEvent): void;
  app: { version: string; onnxruntime: string };
  runnerLauncher?: ProcessLauncher;
  /** Load and per-batch limits of the model-runner process (default: runner/model-runner.ts). */
  runnerTimeouts?: Partial<RunnerTimeouts>;
  /** Where the built-in probe lives (default: the repository's models/). */
  modelsDir?: string;
  /** The most examples a probe may have (default: probe/source.ts DEFAULT_MAX_PROBE_EXAMPLES). */
  maxProbeExamples?: number;
  /** Default worker threads of the CKA core (a spec's options.threads wins). */
  threads?: number;
}

/** How long `cancelRun` waits for a running run to stop before answering. */
const CANCEL_WAIT_MS = 60_000;
/** Progress is written to the database (for other processes and after a crash) at most this often. */
const PERSIST_PROGRESS_MS = 1000;

export class ExperimentService {
  private readonly queue: string[] = [];
  private current: { runId: string; controller: AbortController; ended: Promise<void> } | null = null;
  private pumping: Promise<void> | null = null;
  private activations: ActivationEngine | null = null;
  private cka: { key: string; engine: CkaEngine } | null = null;
  private readonly latest = new Map<string, RunProgress>();
  private lastPersist = { runId: '', stage: '', at: 0 };
  private closed = false;

  constructor(private readonly options: ExperimentServiceOptions) {}

  private get history() {
    return this.options.store.history;
  }

  private emitRun(record: RunRecord): RunInfo {
    const info = runInfo(record);
    this.options.emit({ type: 'run', run: info });
    return info;
  }

  /** Queues a run of the experiment's current spec (validated again: stored specs are input too). */
  enqueue(experimentId: string, name?: string): RunInfo {
    if (this.closed) throw new WorkbenchError('CANCELLED', 'the workbench is closing');
    const experiment = this.history.experiment(experimentId);
    const spec = parseExperimentSpec(experiment.spec, `stored spec of experiment ${experimentId}`);
    const record = this.history.createRun(experimentId, name ?? spec.name, spec);
    this.queue.push(record.id);
    const info = this.emitRun(record);
    this.pumping ??= this.pump().finally(() => (this.pumping = null));
    return info;
  }

  progressOf(runId: string): RunProgress | null {
    return this.latest.get(runId) ?? null;
  }

  async cancel(runId: string): Promise<RunInfo> {
    const record = this.history.run(runId);
    const queued = this.queue.indexOf(runId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      return this.emitRun(
        this.history.finishRun(runId, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it started' }),
      );
    }
    if (this.current?.runId === runId) {
      const { controller, ended } = this.current;
      controller.abort('user');
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, CANCEL_WAIT_MS).unref())]);
      return runInfo(this.history.run(runId));
    }
    if (record.status === 'queued' || record.status === 'running') {
      // Another process's run (the same data directory): only that process can stop it.
      throw new WorkbenchError(
        'BAD_INPUT',
        `run ${runId} belongs to another workbench process on this data directory; cancel it there`,
      );
    }
    return runInfo(record);
  }

  /** Runs of this process that are queued or running. */
  activeRunIds(): string[] {
    return [...(this.current ? [this.current.runId] : []), ...this.queue];
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const runId = this.queue.shift()!;
      const controller = new AbortController();
      // The CKA core and the runner listen on it per task: many listeners, no leak.
      setMaxListeners(0, controller.signal);
      let end!: () => void;
      const ended = new Promise<void>((resolve) => (end = resolve));
      this.current = { runId, controller, ended };
      try {
        await this.execute(runId, controller.signal);
      } finally {
        this.current = null;
        end();
      }
    }
  }

  private async execute(runId: string, signal: AbortSignal): Promise<void> {
    let outcome: RunOutcome;
    try {
      const record = this.history.markRunning(runId);
      this.emitRun(record);
      const spec = parseExperimentSpec(record.spec, `stored spec of run ${runId}`);
      outcome = await executeRun(
        {
          store: this.options.store,
          activations: this.activationEngine(),
          activationCache: new ActivationCache(this.options.store.dirs.activations),
          cka: this.ckaEngine(spec.options),
          app: this.options.app,
          ...(this.options.modelsDir ? { modelsDir: this.options.modelsDir } : {}),
          ...(this.options.maxProbeExamples !== undefined ? { maxProbeExamples: this.options.maxProbeExamples } : {}),
        },
        runId,
        spec,
        {
          signal,
          onProgress: (p) => this.onProgress(p),
          onWarning: (message) => this.options.emit({ type: 'log', level: 'warn', message, runId }),
        },
      );
    } catch (err) {
      outcome = { status: 'failed', error: toErrorData(err) };
    }
    this.latest.delete(runId);
    try {
      const record =
        outcome.status === 'done'
          ? this.history.finishRun(runId, 'done')
          : this.history.finishRun(runId, outcome.status, outcome.error);
      this.emitRun(record);
      await this.options.store.cache.evict();
    } catch (err) {
      this.options.emit({ type: 'log', level: 'error', message: `run ${runId}: ${toErrorData(err).message}` });
    }
  }

  private onProgress(progress: RunProgress): void {
    this.latest.set(progress.runId, progress);
    this.options.emit({ type: 'progress', progress });
    const now = Date.now();
    const last = this.lastPersist;
    if (last.runId !== progress.runId || last.stage !== progress.stage || now - last.at >= PERSIST_PROGRESS_MS) {
      this.lastPersist = { runId: progress.runId, stage: progress.stage, at: now };
      try {
        this.history.saveProgress(progress.runId, progress);
      } catch {
        // Progress is a courtesy; a busy database must not fail the run.
      }
    }
  }

  private activationEngine(): ActivationEngine {
    const { runnerLauncher, runnerTimeouts } = this.options;
    this.activations ??= new ActivationEngine({
      runnerOptions: {
        ...(runnerLauncher ? { launcher: runnerLauncher } : {}),
        ...(runnerTimeouts ? { timeouts: runnerTimeouts } : {}),
      },
      ...(this.options.modelsDir ? { modelsDir: this.options.modelsDir } : {}),
      ...(this.options.maxProbeExamples !== undefined ? { maxProbeExamples: this.options.maxProbeExamples } : {}),
    });
    return this.activations;
  }

  /** One CKA engine (a pool of worker threads) kept between runs with the same threads and budget. */
  private ckaEngine(options: ExperimentOptions | undefined): CkaEngine {
    const threads = options?.threads ?? this.options.threads;
    const budget = options?.memoryBudgetMiB;
    const key = `${threads ?? ''}|${budget ?? ''}`;
    if (this.cka?.key !== key) {
      const old = this.cka?.engine;
      // Its workers end in the background; a failure to stop them must not be an unhandled rejection.
      if (old) old.close().catch(() => undefined);
      this.cka = {
        key,
        engine: new CkaEngine({
          ...(threads !== undefined ? { threads } : {}),
          ...(budget !== undefined ? { memoryBudgetBytes: budget * 2 ** 20 } : {}),
        }),
      };
    }
    return this.cka.engine;
  }

  /** Stops: queued runs and the running one become `interrupted` (keeping what they finished). */
  async close(): Promise<void> {
    this.closed = true;
    for (const runId of this.queue.splice(0)) {
      this.emitRun(
        this.history.finishRun(runId, 'interrupted', {
          code: 'CANCELLED',
          message: 'interrupted: the app was closed before the run started',
        }),
      );
    }
    if (this.current) {
      this.current.controller.abort(CLOSING);
      await this.current.ended;
    }
    await this.pumping;
    await Promise.allSettled([this.activations?.close(), this.cka?.engine.close()]);
    this.activations = null;
    this.cka = null;
  }
}
