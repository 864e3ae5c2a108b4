/**
 * The engine's door to onnxruntime: a small pool of supervised runner processes (./runner-process.ts).
 * A session leases one process for itself until it is closed, so a model that crashes or hangs
 * takes down only its own job; the next job gets a fresh process and the host goes on.
 *
 *   const runner = new ModelRunner();
 *   const session = await runner.openSession({ model: { path, sha256 }, extraOutputs: [...] });
 *   try { const outputs = await session.run(feeds, fetch); } finally { await session.close(); }
 *   await runner.close();
 *
 * Threads: processes × intra-op threads ≤ cores (ARCHITECTURE.md), spinning off.
 */
import { availableParallelism } from 'node:os';
import { WorkbenchError } from '../../common/errors.js';
import type { PackedArray } from '../cka/packed.js';
import type { NodeEntry } from '../runtime/node-entry.js';
import { nodeLauncher, runnerEntry, type ProcessLauncher } from './launcher.js';
import type {
  FileRunReply,
  GramRunReply,
  LayerGrams,
  LayerWritten,
  ModelSource,
  OpenReply,
  OptimizationMode,
  RunReply,
  RunFilesRequest,
  RunGramsRequest,
  RunReduceRequest,
  SpilledRunReply,
  ValueMeta,
  WireTensor,
} from './protocol.js';
import { SpillBuffers, SpillSlots, createSpillFolder, isSpilled, readSpilled, removeSpillFolder } from './spill.js';
import { RunnerProcess } from './runner-process.js';

export interface RunnerTimeouts {
  /** A new process must report ready within this (loading Node, tsx in a checkout, onnxruntime). */
  startMs: number;
  /** Reading the model and creating its session. */
  openMs: number;
  /** One `run` (one batch). */
  runMs: number;
}

export const DEFAULT_TIMEOUTS: RunnerTimeouts = { startMs: 60_000, openMs: 300_000, runMs: 600_000 };

export interface ModelRunnerOptions {
  launcher?: ProcessLauncher;
  /** Runner processes that may run at once (default 1); further sessions wait for a free one. */
  maxProcesses?: number;
  /** onnxruntime intra-op threads per session (default: cores / maxProcesses). */
  intraOpThreads?: number;
  timeouts?: Partial<RunnerTimeouts>;
  /** Extra environment for the runner processes (tests enable their hooks this way). */
  env?: Record<string, string>;
  /** The runner's entry point (default: ./child.ts or its compiled .js). */
  entry?: NodeEntry;
}

export interface OpenSessionRequest {
  model: ModelSource;
  /** Tensors to add as graph outputs (see onnx/surgery.ts). */
  extraOutputs?: string[];
  optimization?: OptimizationMode;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export type RunOptions = CallOptions & { doing?: string; reduce?: RunReduceRequest; timeoutMs?: number };

export class ModelRunner {
  readonly intraOpThreads: number;
  readonly timeouts: RunnerTimeouts;
  private readonly idle: RunnerProcess[] = [];
  /** Sessions waiting for a free process; `take(null)` means the runner was closed. */
  private readonly waiting: { take(p: RunnerProcess | null): void }[] = [];
  private readonly all: RunnerProcess[] = [];
  private closed = false;
  private spillDir: string | null = null;

  constructor(options: ModelRunnerOptions = {}) {
    const maxProcesses = Math.max(1, Math.floor(options.maxProcesses ?? 1));
    const cores = availableParallelism();
    this.intraOpThreads = Math.max(1, Math.min(cores, options.intraOpThreads ?? Math.floor(cores / maxProcesses)));
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const entry = options.entry ?? runnerEntry();
    for (let i = 0; i < maxProcesses; i++) {
      const process = new RunnerProcess({
        launcher: options.launcher ?? nodeLauncher,
        entry,
        env: options.env ?? {},
        startTimeoutMs: this.timeouts.startMs,
      });
      this.all.push(process);
      this.idle.push(process);
    }
  }

  /** Opens a session on a leased runner process; close it to give the process back. */
  async openSession(request: OpenSessionRequest, options: CallOptions = {}): Promise<RunnerSession> {
    const process = await this.lease(options.signal);
    try {
      const reply = await process.request<OpenReply>(
        {
          type: 'open',
          model: request.model,
          extraOutputs: request.extraOutputs ?? [],
          config: { optimization: request.optimization ?? 'fast', intraOpThreads: this.intraOpThreads },
        },
        {
          timeoutMs: this.timeouts.openMs,
          signal: options.signal,
          model: request.model.path,
          doing: 'loading the model',
        },
      );
      return new RunnerSession(this, process, reply, request.model.path, process.generation);
    } catch (err) {
      this.release(process);
      throw err;
    }
  }

  /** Opens a session, hands it to `work`, and always closes it. */
  async withSession<T>(
    request: OpenSessionRequest,
    work: (session: RunnerSession) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    const session = await this.openSession(request, options);
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  }

  /** Ends every runner process; sessions still open fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.take(null);
    for (const process of this.all) process.close();
    if (this.spillDir) removeSpillFolder(this.spillDir);
    this.spillDir = null;
  }

  /** @internal where runner processes write large replies (created on first use). */
  spillFolder(): string {
    this.spillDir ??= createSpillFolder();
    return this.spillDir;
  }

  /** The supervised processes (for tests and diagnostics). */
  processes(): readonly RunnerProcess[] {
    return this.all;
  }

  private lease(signal: AbortSignal | undefined): Promise<RunnerProcess> {
    if (this.closed) return Promise.reject(new WorkbenchError('CANCELLED', 'the model runner was shut down'));
    if (signal?.aborted) return Promise.reject(new WorkbenchError('CANCELLED', 'cancelled'));
    const free = this.idle.shift();
    if (free) return Promise.resolve(free);
    return new Promise<RunnerProcess>((resolve, reject) => {
      const waiter = {
        take: (p: RunnerProcess | null) => {
          signal?.removeEventListener('abort', onAbort);
          if (p) resolve(p);
          else reject(new WorkbenchError('CANCELLED', 'the model runner was shut down'));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new WorkbenchError('CANCELLED', 'cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** @internal a session gives its process back. */
  release(process: RunnerProcess): void {
    if (this.closed) return; // its process is killed; nobody may lease it again
    const next = this.waiting.shift();
    if (next) next.take(process);
    else this.idle.push(process);
  }
}

export class RunnerSession {
  readonly inputs: ValueMeta[];
  readonly outputs: ValueMeta[];
  private closed = false;
  private readonly id: number;
  private readonly spill: SpillSlots;
  private readonly buffers = new SpillBuffers();

  constructor(
    private readonly runner: ModelRunner,
    private readonly process: RunnerProcess,
    reply: OpenReply,
    readonly modelPath: string,
    private readonly generation: number,
  ) {
    this.id = reply.session;
    this.spill = new SpillSlots(() => runner.spillFolder());
    this.inputs = reply.inputs;
    this.outputs = reply.outputs;
  }

  /** True while the session's process is the one it was opened in. */
  get alive(): boolean {
    return !this.closed && this.process.generation === this.generation;
  }

  async run(feeds: WireTensor[], fetch: string[], options: RunOptions = {}): Promise<WireTensor[]> {
    const spillFile = this.spill.take();
    try {
      const reply = await this.request<RunReply | SpilledRunReply>(feeds, fetch, options, { spillFile });
      return isSpilled(reply) ? await this.readSpilled(reply, spillFile) : reply.outputs;
    } finally {
      this.spill.give(spillFile);
    }
  }

  /**
   * Runs a batch in Gram mode: the runner keeps the chosen layers' rows until they fill batches and
   * replies with those batches' Grams (./batch-grams.ts); the other layers' rows come back as
   * `run` returns them. Runs of one stream must be sent in order.
   */
  async runGrams(
    feeds: WireTensor[],
    fetch: string[],
    grams: RunGramsRequest,
    options: RunOptions = {},
  ): Promise<{ grams: (LayerGrams | null)[]; rows: WireTensor[] }> {
    const { reply, rows } = await this.runWithRows<GramRunReply>(feeds, fetch, options, { grams }, async (r, file) => {
      if (!r.spilledGrams) return;
      // Fresh shared memory, not a recycled buffer: the Grams outlive the next reply, and the CKA
      // workers read them from there as they are (similarity/grams.ts layerGramOf), uncopied.
      // Imported here: a command that only reads shapes (inspect) loads this module, not compute/.
      const { sharedBytes } = await import('../compute/shared-memory.js');
      const values = await readSpilled(
        r.spilledGrams,
        file,
        sharedBytes(r.spilledGrams.byteLength, 'the Grams the model runner computed'),
      );
      const batches = r.grams.flatMap((g) => g?.grams ?? []);
      if (values.length !== batches.length) {
        throw new WorkbenchError('INTERNAL', `runner: ${values.length} spilled Grams for ${batches.length} batches`);
      }
      batches.forEach((b, i) => (b.packed = values[i]!.data as PackedArray));
    });
    return { grams: reply.grams, rows };
  }

  /**
   * Runs a batch whose chosen layers' rows the runner writes into files itself (./row-files.ts);
   * the other layers' rows come back as `run` returns them. Runs of one file must be sent in order.
   */
  async runToFiles(
    feeds: WireTensor[],
    fetch: string[],
    files: RunFilesRequest,
    options: RunOptions = {},
  ): Promise<{ written: (LayerWritten | null)[]; rows: WireTensor[] }> {
    const { reply, rows } = await this.runWithRows<FileRunReply>(feeds, fetch, options, { files });
    return { written: reply.written, rows };
  }

  /** A run in Gram or file mode: its reply, and the rows of the other layers (read from the spill file when large). */
  private async runWithRows<R extends { rows: RunReply | SpilledRunReply }>(
    feeds: WireTensor[],
    fetch: string[],
    options: RunOptions,
    mode: { grams: RunGramsRequest } | { files: RunFilesRequest },
    /** Reads whatever else the reply left in the spill file, before the file is reused. */
    readRest?: (reply: R, spillFile: string) => Promise<void>,
  ): Promise<{ reply: R; rows: WireTensor[] }> {
    const spillFile = this.spill.take();
    try {
      const reply = await this.request<R>(feeds, fetch, options, { spillFile, ...mode });
      const rows = isSpilled(reply.rows) ? await this.readSpilled(reply.rows, spillFile) : reply.rows.outputs;
      await readRest?.(reply, spillFile);
      return { reply, rows };
    } finally {
      this.spill.give(spillFile);
    }
  }

  /**
   * Outputs of `run` (or rows of `runGrams`) that the caller no longer reads: the buffer they
   * were read into may hold a later reply. Optional; only for outputs nothing keeps a view of.
   */
  recycle(outputs: readonly WireTensor[]): void {
    this.buffers.recycle(outputs);
  }

  private async readSpilled(reply: SpilledRunReply, file: string): Promise<WireTensor[]> {
    const tensors = await readSpilled(reply, file, this.buffers.take(reply.byteLength));
    this.buffers.adopt(tensors);
    return tensors;
  }

  private request<T>(
    feeds: WireTensor[],
    fetch: string[],
    options: RunOptions,
    extra: { spillFile?: string; grams?: RunGramsRequest; files?: RunFilesRequest },
  ): Promise<T> {
    if (this.closed) throw new WorkbenchError('INTERNAL', `${this.modelPath}: the session is closed`);
    if (this.process.generation !== this.generation) {
      throw new WorkbenchError('RUNTIME', `${this.modelPath}: the model runner was restarted; open the model again`);
    }
    return this.process.request<T>(
      {
        type: 'run',
        session: this.id,
        feeds,
        fetch,
        ...extra,
        ...(options.reduce ? { reduce: options.reduce } : {}),
      },
      {
        timeoutMs: Math.min(options.timeoutMs ?? Infinity, this.runner.timeouts.runMs),
        signal: options.signal,
        model: this.modelPath,
        doing: options.doing ?? 'running the model',
      },
    );
  }

  /** Releases the session and gives the process back to the pool. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.process.generation === this.generation) {
        await this.process.request(
          { type: 'close', session: this.id },
          { timeoutMs: this.runner.timeouts.openMs, model: this.modelPath, doing: 'closing the model' },
        );
      }
    } catch {
      // The process died or timed out closing: it is restarted on next use; nothing to keep.
    } finally {
      await this.spill.removeAll();
      this.runner.release(this.process);
    }
  }
}
