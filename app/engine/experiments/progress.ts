/**
 * A run's progress as one number and an ETA. The plan estimates each task in seconds; a task
 * reports its own fraction; tasks the cache makes unnecessary are credited at once.
 *
 * The ETA is kept per kind of work (extraction, Grams, SVDs, pairs), because the plan's constants
 * are only proportionate within a kind: a pair of small layers is estimated at a millisecond and
 * takes a few hundred (worker threads, onnxruntime sessions), so one speed for the whole run made
 * the first pair's seconds-per-unit multiply the extraction still ahead — "~35 min left" at 60% of
 * a 3 s rerun. For each kind, what is left is scaled by
 *  - the share of that kind's work seen so far that actually ran rather than came from the cache
 *    (a rerun that found every Gram cached expects the rest cached too), and
 *  - the seconds per unit observed on that kind, or, for a kind not seen running yet, the plan's
 *    seconds times the speed observed on the others (bounded: kinds differ).
 */
import type { RunProgress, RunStage } from '../../common/contract.js';

export interface TaskInfo {
  stage: RunStage;
  message: string;
  model?: string;
}

export type WorkKind = 'extract' | 'grams' | 'factors' | 'pairs';

export const WORK_KINDS: readonly WorkKind[] = ['extract', 'grams', 'factors', 'pairs'];

/** The plan's estimate of each kind of work over the whole run, in seconds. */
export type WorkTotals = Record<WorkKind, number>;

/** Per-kind totals of a plan's steps. */
export function workTotals(
  steps: readonly { estimate: { extract: number; grams: number; factors: number; pairs: readonly number[] } }[],
): WorkTotals {
  const totals: WorkTotals = { extract: 0, grams: 0, factors: 0, pairs: 0 };
  for (const { estimate } of steps) {
    totals.extract += estimate.extract;
    totals.grams += estimate.grams;
    totals.factors += estimate.factors;
    totals.pairs += estimate.pairs.reduce((a, b) => a + b, 0);
  }
  return totals;
}

/** Reports at most this often, except on a change of stage or model. */
const MIN_INTERVAL_MS = 150;
/** No ETA before this much work has been timed: the first batch includes starting processes. */
const MIN_TIMED_MS = 500;
/** A kind not seen running yet: the plan's seconds, scaled by the others' speed within these bounds. */
const UNSEEN_SCALE_MIN = 0.25;
const UNSEEN_SCALE_MAX = 4;

interface KindCounts {
  /** Units finished by running, and the milliseconds they took. */
  worked: number;
  workedMs: number;
  /** Units credited because the cache had them. */
  skipped: number;
}

interface CurrentTask {
  kind: WorkKind;
  units: number;
  fraction: number;
  started: number;
  info: TaskInfo;
}

export class ProgressTracker {
  private readonly counts = new Map<WorkKind, KindCounts>(
    WORK_KINDS.map((k) => [k, { worked: 0, workedMs: 0, skipped: 0 }]),
  );
  private readonly total: number;
  private current: CurrentTask | null = null;
  private lastEmit = -Infinity;
  private lastKey = '';

  constructor(
    private readonly runId: string,
    private readonly totals: WorkTotals,
    private readonly emit: (progress: RunProgress) => void,
    /** Fraction of the run done before the tracked work (the prepare stage). */
    private readonly preparedShare = 0,
    /** Milliseconds, monotonic (a test's synthetic clock). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.total = WORK_KINDS.reduce((a, k) => a + totals[k], 0);
  }

  /** Starts a task of `kind` worth `units` of the plan's estimate. */
  start(kind: WorkKind, units: number, info: TaskInfo): void {
    this.finish();
    this.current = { kind, units, fraction: 0, started: this.now(), info };
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
    const counts = this.counts.get(task.kind)!;
    counts.worked += task.units;
    counts.workedMs += this.now() - task.started;
    this.current = null;
  }

  /** Credits work of `kind` that turned out to be unnecessary (cache hits). */
  skip(kind: WorkKind, units: number): void {
    this.counts.get(kind)!.skipped += units;
  }

  fraction(): number {
    let done = 0;
    for (const c of this.counts.values()) done += c.worked + c.skipped;
    const task = this.current;
    if (task) done += task.units * task.fraction;
    return this.preparedShare + (1 - this.preparedShare) * (this.total > 0 ? Math.min(1, done / this.total) : 0);
  }

  /** Seconds left, or undefined before enough has been timed to say. */
  etaSeconds(): number | undefined {
    const task = this.current;
    const now = this.now();
    // Timed work per kind, the current task's done part included.
    const timed = new Map<WorkKind, { units: number; ms: number }>();
    let timedMs = 0;
    for (const kind of WORK_KINDS) {
      const c = this.counts.get(kind)!;
      const t = { units: c.worked, ms: c.workedMs };
      if (task?.kind === kind) {
        t.units += task.units * task.fraction;
        t.ms += now - task.started;
      }
      timed.set(kind, t);
      timedMs += t.ms;
    }
    if (timedMs < MIN_TIMED_MS) return undefined;
    const rates = this.msPerUnit(timed);
    let ms = 0;
    if (task) ms += task.units * (1 - task.fraction) * rates.get(task.kind)!;
    for (const kind of WORK_KINDS) {
      const c = this.counts.get(kind)!;
      const begun = c.worked + c.skipped + (task?.kind === kind ? task.units : 0);
      const future = Math.max(0, this.totals[kind] - begun);
      if (future === 0) continue;
      // The share of this kind's work so far that ran; none seen yet: assume it all runs.
      const ran = begun > 0 ? (begun - c.skipped) / begun : 1;
      ms += future * ran * rates.get(kind)!;
    }
    return Math.round(ms / 1000);
  }

  /** Milliseconds per unit for each kind: observed, or the plan's (1000) scaled by the others' speed. */
  private msPerUnit(timed: ReadonlyMap<WorkKind, { units: number; ms: number }>): Map<WorkKind, number> {
    const rates = new Map<WorkKind, number>();
    let units = 0;
    let ms = 0;
    for (const [kind, t] of timed) {
      if (t.units <= 0) continue;
      rates.set(kind, t.ms / t.units);
      units += t.units;
      ms += t.ms;
    }
    const scale = units > 0 ? Math.min(UNSEEN_SCALE_MAX, Math.max(UNSEEN_SCALE_MIN, ms / units / 1000)) : 1;
    for (const kind of WORK_KINDS) if (!rates.has(kind)) rates.set(kind, 1000 * scale);
    return rates;
  }

  private report(force: boolean, extra: { examplesPerSecond?: number } = {}): void {
    const task = this.current;
    if (!task) return;
    const key = `${task.info.stage}|${task.info.model ?? ''}`;
    const now = this.now();
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
