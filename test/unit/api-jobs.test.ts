/**
 * One-off jobs (app/api/jobs.ts): progress as `job` events, then one `jobEnd` with the outcome —
 * after the work's last progress and whether it returned, threw or was cancelled — so views that
 * show what a job wrote (the cache panel) reread once everything is written.
 */
import { describe, expect, it } from 'vitest';
import { Jobs } from '../../app/api/jobs.js';
import type { WorkbenchEvent } from '../../app/common/contract.js';
import { WorkbenchError } from '../../app/common/errors.js';

function recorder() {
  const events: WorkbenchEvent[] = [];
  return { events, jobs: new Jobs((event) => events.push(event)) };
}

const step = { stage: 'grams' as const, done: 1, total: 1, message: 'grams 1/1' };

describe('one-off jobs', () => {
  it('end with jobEnd done, after their last progress event', async () => {
    const { events, jobs } = recorder();
    const result = await jobs.run('a', async (_signal, progress) => {
      progress(step);
      await Promise.resolve();
      return 42;
    });
    expect(result).toBe(42);
    expect(events.map((e) => e.type)).toEqual(['job', 'jobEnd']);
    expect(events[1]).toEqual({ type: 'jobEnd', jobId: 'a', outcome: 'done' });
  });

  it('end with jobEnd failed or cancelled, and the error still reaches the caller', async () => {
    const { events, jobs } = recorder();
    await expect(
      jobs.run('b', async () => {
        throw new WorkbenchError('BAD_INPUT', 'no such layer');
      }),
    ).rejects.toThrow('no such layer');
    const cancelled = jobs.run(
      'c',
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')))),
    );
    expect(jobs.cancel('c')).toBe(true);
    await expect(cancelled).rejects.toThrow('stopped');
    expect(events).toEqual([
      { type: 'jobEnd', jobId: 'b', outcome: 'failed' },
      { type: 'jobEnd', jobId: 'c', outcome: 'cancelled' },
    ]);
    // an ended job's id is free again, and an unknown one cannot be cancelled
    expect(jobs.cancel('c')).toBe(false);
  });
});
