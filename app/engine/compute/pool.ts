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
import { WorkbenchError } from '../../common/errors.js';
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

/**
 * Cancellation is cooperative: a worker thread is never terminated while onnxruntime runs in it
 * (terminating a thread inside native code aborts the whole process). Tasks wait for one of
 * `threads` slots before they are handed to a worker; when the signal fires, waiting tasks are
 * dropped and callers get CANCELLED at once, while tasks already running finish in the background
 * (each is one Gram or one chunk of a product: well under a second of work) and are discarded.
 */
export class ComputePool {
  readonly threads: number;
  private pool: Piscina<ComputeTask, TaskEnvelope> | null = null;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();

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

  /** Resolves when a slot is free (true), or when the signal fires first (false). */
  private acquire(signal?: AbortSignal): Promise<boolean> {
    if (this.running < this.threads) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.running++;
        resolve(true);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }

  async run<K extends ComputeTask['kind']>(task: TaskOf<K>, signal?: AbortSignal): Promise<TaskResults[K]> {
    if (signal?.aborted || !(await this.acquire(signal))) throw cancelled();
    if (signal?.aborted) {
      this.release();
      throw cancelled();
    }
    const work = this.workers.run(task).finally(() => this.release());
    this.inFlight.add(work);
    void work.then(
      () => this.inFlight.delete(work),
      () => this.inFlight.delete(work),
    );
    let envelope: TaskEnvelope;
    try {
      envelope = await (signal ? raceAbort(work, signal) : work);
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      throw new WorkbenchError(
        'INTERNAL',
        `a compute worker failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!envelope.ok) throw new WorkbenchError(envelope.error.code, envelope.error.message, envelope.error.details);
    return envelope.value as TaskResults[K];
  }

  /**
   * Starts every worker thread now (loading a worker and onnxruntime takes a good part of a
   * second), so a caller that will need them soon — after extracting activations — finds them
   * ready. Each runs one trivial task; failures surface with the first real task instead.
   */
  warm(): void {
    for (let i = 0; i < this.threads; i++) {
      this.run({ kind: 'summary', packed: new Float64Array(1), n: 1 }).catch(() => undefined);
    }
  }

  /** Waits for running tasks, then stops the worker threads. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.close();
  }
}

/** The task's result, or a rejection as soon as the signal fires (the task itself runs on). */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export function cancelled(): WorkbenchError {
  return new WorkbenchError('CANCELLED', 'the CKA computation was cancelled');
}
