/**
 * Runs as the views share them: the history (`listRuns`, newest first) kept current by the
 * engine's events, and the last progress report of each active run.
 */
import type { RunInfo, RunProgress, Unsubscribe, WorkbenchApi } from '@common/contract';
import { isActive, laterProgress } from '../lib/run-format';
import { withFetched, withRun } from '../lib/run-list';

export class Runs {
  list = $state.raw<RunInfo[]>([]);
  progress = $state.raw<Record<string, RunProgress>>({});
  private listeners: ((run: RunInfo) => void)[] = [];

  constructor(private readonly api: WorkbenchApi) {}

  /** Listens to the engine's events and loads the history; returns the stop function. */
  start(): Unsubscribe {
    const stop = this.api.subscribe((event) => {
      if (event.type === 'run') this.upsert(event.run);
      else if (event.type === 'progress') this.noteProgress(event.progress);
    });
    void this.refresh().catch(() => undefined);
    return stop;
  }

  async refresh(): Promise<void> {
    // Local bookkeeping for this fetch, not state any view reads.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    const reported = new Map<string, RunInfo>();
    const stop = this.onChange((run) => reported.set(run.id, run));
    try {
      this.list = withFetched(await this.api.listRuns({}), reported);
    } finally {
      stop();
    }
    // Progress reported before this page listened (a reload mid-run) comes with the run's details.
    for (const run of this.list.filter((r) => isActive(r.status) && !(r.id in this.progress))) {
      void this.api
        .getRun({ runId: run.id })
        .then((details) => details.progress && this.noteProgress(details.progress))
        .catch(() => undefined);
    }
  }

  /** Keeps the latest progress of a run (from an event or fetched details), while the run is active. */
  noteProgress(progress: RunProgress): void {
    const run = this.byId(progress.runId);
    if (run && !isActive(run.status)) return;
    const latest = laterProgress(this.progress[progress.runId], progress);
    if (latest !== this.progress[progress.runId]) this.progress = { ...this.progress, [progress.runId]: latest! };
  }

  /** The run as last reported (events or a fetch). */
  byId(runId: string): RunInfo | undefined {
    return this.list.find((r) => r.id === runId);
  }

  /** The first run still queued or running (newest first). */
  get active(): RunInfo | undefined {
    return this.list.find((r) => isActive(r.status));
  }

  upsert(run: RunInfo): void {
    const list = withRun(this.list, run);
    if (list === this.list) return; // a stale report of an ended run
    this.list = list;
    if (!isActive(run.status) && run.id in this.progress) {
      const { [run.id]: _done, ...rest } = this.progress;
      this.progress = rest;
    }
    for (const listener of this.listeners) listener(run);
  }

  remove(runId: string): void {
    this.list = this.list.filter((r) => r.id !== runId);
  }

  /** Called with every state change of any run. */
  onChange(listener: (run: RunInfo) => void): Unsubscribe {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }
}
