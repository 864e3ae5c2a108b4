/**
 * Reading model files off the engine's thread. A model can be 2 GiB: reading, hashing and
 * decoding it on the thread that answers API calls would stop every other call for seconds, and
 * the bytes would stay in its heap until some later garbage collection. So one worker thread (the
 * model reader) does that work, one file at a time, and hands back only the file's facts and its
 * structure without weights (./model-structure.ts). After a large file the thread is ended, which
 * gives its memory back to the system at once; small files reuse it.
 *
 *   const { facts, structure } = await readModelInWorker('/models/big.onnx');
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkbenchErrorData } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { ReadStructure } from './model-structure.js';
import type { ReadRequest } from './model-reader-worker.js';

/** The reader thread's heap: weights are bytes outside it, so this bounds only a graph's structure. */
const READER_HEAP_MIB = 2048;

/** Files at least this large end the reader thread afterwards (their bytes go with it). */
export const RECYCLE_AFTER_BYTES = 64 * 2 ** 20;

type Reply = { id: number; ok: true; value: ReadStructure } | { id: number; ok: false; error: WorkbenchErrorData };

function workerFile(): string {
  const compiled = fileURLToPath(new URL('./model-reader-worker.js', import.meta.url));
  if (existsSync(compiled)) return compiled;
  return fileURLToPath(new URL('./model-reader-boot.mjs', import.meta.url));
}

interface Job {
  path: string;
  resolve(read: ReadStructure): void;
  reject(err: WorkbenchError): void;
}

export class ModelReader {
  private worker: Worker | null = null;
  private readonly queue: Job[] = [];
  private current: { id: number; job: Job } | null = null;
  private nextId = 1;

  /** Reads `path` in the reader thread (queued behind earlier requests). */
  read(path: string): Promise<ReadStructure> {
    return new Promise<ReadStructure>((resolve, reject) => {
      this.queue.push({ path, resolve, reject });
      this.pump();
    });
  }

  /** Ends the reader thread; requests still queued or running fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    const failed = new WorkbenchError('CANCELLED', 'the model reader was shut down');
    for (const job of this.queue.splice(0)) job.reject(failed);
    this.current?.job.reject(failed);
    this.current = null;
    await worker?.terminate();
  }

  private pump(): void {
    if (this.current || this.queue.length === 0) return;
    const job = this.queue.shift()!;
    const id = this.nextId++;
    this.current = { id, job };
    const worker = this.start();
    worker.ref();
    worker.postMessage({ id, path: job.path } satisfies ReadRequest);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // A model whose structure would not fit in this heap ends the thread, not the engine.
    const worker = new Worker(workerFile(), { resourceLimits: { maxOldGenerationSizeMb: READER_HEAP_MIB } });
    worker.on('message', (reply: Reply) => this.settle(worker, reply));
    worker.on('error', (err) => this.fail(worker, `the model reader failed (${err.message})`));
    worker.on('exit', (code) => this.fail(worker, `the model reader stopped (exit code ${code})`));
    this.worker = worker;
    return worker;
  }

  private settle(worker: Worker, reply: Reply): void {
    const current = this.current;
    if (!current || current.id !== reply.id) return;
    this.current = null;
    if (reply.ok) {
      current.job.resolve(reply.value);
      if (reply.value.facts.sizeBytes >= RECYCLE_AFTER_BYTES) this.retire(worker);
    } else {
      current.job.reject(new WorkbenchError(reply.error.code, reply.error.message, reply.error.details));
    }
    if (this.worker === worker) worker.unref();
    this.pump();
  }

  /** The thread died (out of memory, a crash): the request it had fails, the next one gets a new thread. */
  private fail(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const current = this.current;
    this.current = null;
    current?.job.reject(new WorkbenchError('BAD_MODEL', `${current.job.path}: ${message}`));
    this.pump();
  }

  private retire(worker: Worker): void {
    if (this.worker === worker) this.worker = null;
    void worker.terminate();
  }
}

let shared: ModelReader | null = null;

/** Reads a model file in the process-wide model reader thread. */
export function readModelInWorker(path: string): Promise<ReadStructure> {
  shared ??= new ModelReader();
  return shared.read(path);
}
