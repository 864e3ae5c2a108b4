/**
 * The compute pool: worker threads (piscina) that run the CKA engine's tasks, each with its own
 * onnxruntime sessions. The engine's own thread only plans and adds up small results.
 *
 * Threads: `threads` in total (default: the machine's cores). Big single products may ask for
 * several intra-op threads per task; the engine keeps workers × intra-op threads ≤ threads.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { WorkbenchError } from '../../api/errors.js';
import type { ComputeTask, TaskOf, TaskResults } from './tasks.js';
import type { TaskEnvelope } from './worker-entry.js';

function workerFile(): string {
  const compiled = fileURLToPath(new URL('./worker-entry.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  return fileURLToPath(new URL('./worker-boot.mjs', import.meta.url));
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

export class ComputePool {
  readonly threads: number;
  private pool: Piscina<ComputeTask, TaskEnvelope> | null = null;

  constructor(threads = defaultThreads()) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new WorkbenchError('BAD_INPUT', `threads must be a positive integer, got ${threads}`);
    this.threads = threads;
  }

  private get workers(): Piscina<ComputeTask, TaskEnvelope> {
    this.pool ??= new Piscina<ComputeTask, TaskEnvelope>({
      filename: workerFile(),
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: 30_000,
      // Workers wait for tasks without spinning; onnxruntime pools inside them do not spin either.
      atomics: 'disabled',
    });
    return this.pool;
  }

  async run<K extends ComputeTask['kind']>(task: TaskOf<K>, signal?: AbortSignal): Promise<TaskResults[K]> {
    if (signal?.aborted) throw cancelled();
    let envelope: TaskEnvelope;
    try {
      envelope = await this.workers.run(task, signal ? { signal } : {});
    } catch (err) {
      if (signal?.aborted || (err instanceof Error && err.name === 'AbortError')) throw cancelled();
      throw new WorkbenchError(
        'INTERNAL',
        `a compute worker failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!envelope.ok) throw new WorkbenchError(envelope.error.code, envelope.error.message, envelope.error.details);
    return envelope.value as TaskResults[K];
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.destroy();
  }
}

export function cancelled(): WorkbenchError {
  return new WorkbenchError('CANCELLED', 'the CKA computation was cancelled');
}
