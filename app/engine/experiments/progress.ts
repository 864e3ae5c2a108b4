/**
 * A run's progress as one number and an ETA. The plan estimates each task in seconds; a task
 * reports its own fraction; tasks the cache makes unnecessary are credited at once. The ETA
 * rescales what is left by the speed actually observed on the tasks that did run, so a cached
 * extraction does not make the rest look instantaneous.
 */
import type { RunProgress, RunStage } from '../../common/contract.js';

export interface TaskInfo {
  stage: RunStage;
  message: string;
  model?: string;
}

/** Reports at most this often, except on a change of stage or model. */
const MIN_INTERVAL_MS = 150;

export class ProgressTracker {
  private done = 0;
  private worked = 0;
  private workedMs = 0;
  private current: { units: number; fraction: number; started: number; info: TaskInfo } | null = null;
  private lastEmit = 0;
  private lastKey = '';

  constructor(
    private readonly runId: string,
    private readonly total: number,
    private readonly emit: (progress: RunProgress) => void,
    /** Fraction of the run done before the tracked work (the prepare stage). */
    private readonly preparedShare = 0,
  ) {}

  /** Starts a task worth `units` of the plan's estimate. */
  start(units: number, info: TaskInfo): void {
    this.finish();
    this.current = { units, fraction: 0, started: performance.now(), info };
    this.report(true);
  }

  /** The current task is `fraction` done (monotonic); extras such as examples per second. */
  update(fraction: number, info: Partial<TaskInfo> = {}, extra: { examplesPerSecond?: number } = {}): void {
    const task = this.current;
    if (!task) return;
    task.fraction = Math.min(1, Math.max(task.fraction, fraction));
    task.info = { ...task.info, ...info };
    this.report(false, extra);
  }

  /** Ends the current task (its units count as done and worked). */
  finish(): void {
    const task = this.current;
    if (!task) return;
    this.done += task.units;
    this.worked += task.units;
    this.workedMs += performance.now() - task.started;
    this.current = null;
  }

  /** Credits work that turned out to be unnecessary (cache hits). */
  skip(units: number): void {
    this.done += units;
  }

  fraction(): number {
    const task = this.current;
    const done = this.done + (task ? task.units * task.fraction : 0);
    return this.preparedShare + (1 - this.preparedShare) * (this.total > 0 ? Math.min(1, done / this.total) : 0);
  }

  private etaSeconds(): number | undefined {
    const task = this.current;
    const worked = this.worked + (task ? task.units * task.fraction : 0);
    const workedMs = this.workedMs + (task ? performance.now() - task.started : 0);
    const remaining = Math.max(0, this.total - this.done - (task ? task.units * task.fraction : 0));
    if (worked <= 0 || workedMs < 500) return undefined;
    return Math.round((remaining * (workedMs / 1000)) / worked);
  }

  private report(force: boolean, extra: { examplesPerSecond?: number } = {}): void {
    const task = this.current;
    if (!task) return;
    const key = `${task.info.stage}|${task.info.model ?? ''}`;
    const now = performance.now();
    if (!force && key === this.lastKey && now - this.lastEmit < MIN_INTERVAL_MS) return;
    this.lastKey = key;
    this.lastEmit = now;
    const progress: RunProgress = {
      runId: this.runId,
      stage: task.info.stage,
      message: task.info.message,
      fraction: this.fraction(),
    };
    if (task.info.model) progress.model = task.info.model;
    if (extra.examplesPerSecond !== undefined) progress.examplesPerSecond = Math.round(extra.examplesPerSecond);
    const eta = this.etaSeconds();
    if (eta !== undefined) progress.etaSeconds = eta;
    this.emit(progress);
  }
}
