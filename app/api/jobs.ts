/**
 * One-off calls that take long (extractActivations, compareLayers): each runs under an abort
 * signal that cancelJob can fire by the jobId its request gave, reports progress as `job` events
 * and its end as a `jobEnd` event (views that show what a job writes, like the cache's size, reread
 * then). A jobId is unique among the calls running at once.
 */
import { setMaxListeners } from 'node:events';
import type { JobProgress, WorkbenchEvent } from '../common/contract.js';
import { WorkbenchError } from '../common/errors.js';

export class Jobs {
  private readonly running = new Map<string, AbortController>();
  private anonymous = 0;

  constructor(private readonly emit: (event: WorkbenchEvent) => void) {}

  /** Runs `work` as job `jobId` (or an unnamed one), with a signal and a progress reporter. */
  async run<T>(
    jobId: string | undefined,
    work: (signal: AbortSignal, progress: (p: Omit<JobProgress, 'jobId'>) => void) => Promise<T>,
  ): Promise<T> {
    const id = jobId ?? `job-${++this.anonymous}`;
    if (this.running.has(id)) throw new WorkbenchError('BAD_INPUT', `a job named '${id}' is already running`);
    const controller = new AbortController();
    // The CKA core and the runner listen on it per task: many listeners, no leak.
    setMaxListeners(0, controller.signal);
    this.running.set(id, controller);
    let outcome: 'done' | 'failed' | 'cancelled' = 'failed';
    try {
      const result = await work(controller.signal, (p) => this.emit({ type: 'job', progress: { jobId: id, ...p } }));
      outcome = 'done';
      return result;
    } catch (err) {
      if (controller.signal.aborted) outcome = 'cancelled';
      throw err;
    } finally {
      this.running.delete(id);
      this.emit({ type: 'jobEnd', jobId: id, outcome });
    }
  }

  cancel(jobId: string): boolean {
    const controller = this.running.get(jobId);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  /** Stops every running job (the workbench is closing). */
  cancelAll(): void {
    for (const controller of this.running.values()) controller.abort();
  }
}
