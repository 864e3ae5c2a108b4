/**
 * Running a one-off API call (extract, compare) from the command line: a job id of its own, its
 * `job` events handed to a progress printer, and Ctrl+C cancelling it through the API.
 */
import { randomUUID } from 'node:crypto';
import type { JobProgress } from '../common/contract.js';
import type { Workbench } from '../api/workbench.js';

export async function runJob<T>(
  api: Workbench,
  onProgress: ((progress: JobProgress) => void) | undefined,
  call: (jobId: string) => Promise<T>,
): Promise<T> {
  const jobId = `cli-${randomUUID()}`;
  const off = api.subscribe((event) => {
    if (event.type === 'job' && event.progress.jobId === jobId) onProgress?.(event.progress);
  });
  const interrupt = () => void api.cancelJob({ jobId }).catch(() => undefined);
  process.once('SIGINT', interrupt);
  try {
    return await call(jobId);
  } finally {
    off();
    process.off('SIGINT', interrupt);
  }
}
