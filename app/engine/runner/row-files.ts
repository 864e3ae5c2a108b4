/**
 * Rows written by the runner itself into the `.npy` files the host prepared (extract --out): the
 * activations never cross to the host, are never spilled or copied there, and go to the disk
 * while the next batch runs.
 *
 * The runner writes each file whole — its npy header (io/npy.ts, the bytes the host wrote too)
 * and every row, at the offsets its rows' order gives — and closes it with its last rows; the host
 * fsyncs and renames it (activations/npy-row-writer.ts).
 *
 * Through the page cache, not O_DIRECT: measured on the zoo's plain-d4 (1.6 GiB of ReLUs), direct
 * writes took the same time end to end (the disk is the bound either way, as the files are
 * fsynced), but left nothing in memory, so a `compare` of the folder right after read it from the
 * disk again (+0.3–0.5 s for 0.5 GB).
 *
 * Each run's rows are copied into staging chunks and written asynchronously (libuv's pool), at
 * most CHUNKS of CHUNK_BYTES in flight, so onnxruntime may reuse its output buffers for the next
 * batch at once. A write's error is kept and thrown at the file's next rows or at its end, which
 * waits for all of them.
 */
import { constants as fsConstants, close, open, write } from 'node:fs';
import { promisify } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { scanNonFinite } from '../cka/non-finite.js';
import { npyHeaderBytes } from '../io/npy.js';
import { withPath } from '../io/write-faults.js';
import type { LayerWritten, RunFilesRequest, RowFileSpec, WireTensor } from './protocol.js';
import { askedRows } from './reduce.js';

const openAsync = promisify(open);
const writeAsync = promisify(write);
const closeAsync = promisify(close);

const CHUNK_BYTES = 8 * 2 ** 20;
const CHUNKS = 8;

/** Staging memory: CHUNKS chunks, each lent to one write at a time. */
class StagingChunks {
  private memory: Uint8Array | null = null;
  private readonly free: number[] = [];
  private readonly waiters: ((chunk: number) => void)[] = [];

  /** A free chunk's index (waits for a write to end when all are in flight). */
  take(): Promise<number> | number {
    if (!this.memory) {
      this.memory = new Uint8Array(CHUNKS * CHUNK_BYTES);
      for (let i = CHUNKS - 1; i >= 0; i--) this.free.push(i);
    }
    const chunk = this.free.pop();
    if (chunk !== undefined) return chunk;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  give(chunk: number): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(chunk);
    else this.free.push(chunk);
  }

  bytes(chunk: number): Uint8Array {
    return this.memory!.subarray(chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES);
  }
}

/** One `.npy` file: its header, then its rows, appended in order. */
class RowFileWriter {
  /** Where the next bytes go. */
  private position = 0;
  /** The header, until it goes out with the first rows. */
  private header: Uint8Array | null;
  private rowsReceived = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;
  private closed = false;

  private constructor(
    readonly spec: RowFileSpec,
    private readonly fd: number,
    private readonly staging: StagingChunks,
  ) {
    this.header = npyHeaderBytes('float32', [spec.totalRows, spec.features]);
  }

  static async open(spec: RowFileSpec, staging: StagingChunks): Promise<RowFileWriter> {
    try {
      // No O_CREAT: the host created the file and owns its life (a vanished file is an error here).
      return new RowFileWriter(spec, await openAsync(spec.file, fsConstants.O_WRONLY), staging);
    } catch (err) {
      throw withPath(err, spec.target);
    }
  }

  get finished(): boolean {
    return this.rowsReceived === this.spec.totalRows;
  }

  /** Appends the next `count` rows (count × features float32). */
  async append(rows: Float32Array, rowOffset: number, count: number): Promise<void> {
    this.throwIfFailed();
    if (rowOffset !== this.rowsReceived || this.rowsReceived + count > this.spec.totalRows) {
      throw new WorkbenchError(
        'INTERNAL',
        `runner: rows ${rowOffset}…${rowOffset + count - 1} of ${this.spec.target} arrived after ${this.rowsReceived} of ${this.spec.totalRows}`,
      );
    }
    this.rowsReceived += count;
    const bytes = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
    for (let done = 0; done < bytes.length || this.header;) {
      const chunk = await this.staging.take();
      const stage = this.staging.bytes(chunk);
      let filled = 0;
      if (this.header) {
        stage.set(this.header);
        filled = this.header.length;
        this.header = null;
      }
      const take = Math.min(bytes.length - done, stage.length - filled);
      stage.set(bytes.subarray(done, done + take), filled);
      done += take;
      filled += take;
      this.launch(chunk, stage.subarray(0, filled), this.position);
      this.position += filled;
    }
  }

  /** After the last rows: every write awaited, then closed. */
  async finish(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
    await this.close();
  }

  /** Waits for the writes in flight and closes the file (an abandoned or finished file). */
  async close(): Promise<void> {
    await this.settle();
    if (this.closed) return;
    this.closed = true;
    await closeAsync(this.fd).catch(() => undefined);
  }

  private launch(chunk: number, bytes: Uint8Array, position: number): void {
    const done = this.writeAll(bytes, position)
      .catch((err: unknown) => {
        this.failure ??= withPath(err, this.spec.target);
      })
      .finally(() => {
        this.inFlight.delete(done);
        this.staging.give(chunk);
      });
    this.inFlight.add(done);
  }

  private async writeAll(bytes: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      done += (await writeAsync(this.fd, bytes, done, bytes.length - done, position + done)).bytesWritten;
    }
  }

  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}

/** One session's row files, by path: opened at their first rows, closed with their last. */
export class RowFiles {
  private readonly files = new Map<string, RowFileWriter>();
  private readonly staging = new StagingChunks();

  /**
   * Writes one run's outputs (one per fetched tensor) into their layers' files; what each layer
   * gave, or null for the layers without a file (their rows go back to the host).
   */
  async add(outputs: readonly WireTensor[], request: RunFilesRequest): Promise<(LayerWritten | null)[]> {
    if (outputs.length !== request.layers.length) {
      throw new WorkbenchError('INTERNAL', `runner: ${outputs.length} outputs for ${request.layers.length} row files`);
    }
    const replies: (LayerWritten | null)[] = [];
    const ending: RowFileWriter[] = [];
    for (const [i, tensor] of outputs.entries()) {
      const spec = request.layers[i];
      if (!spec) {
        replies.push(null);
        continue;
      }
      const reply: LayerWritten = { type: tensor.type, dims: [...tensor.dims], rows: 0, nonFinite: null };
      replies.push(reply);
      const rows = askedRows(tensor, spec);
      // Not the asked-for rows: nothing is written, and the host names the problem from dims and type.
      if (!rows) continue;
      let writer = this.files.get(spec.file);
      if (!writer) {
        writer = await RowFileWriter.open(spec, this.staging);
        this.files.set(spec.file, writer);
      }
      await writer.append(rows, spec.rowOffset, spec.rows);
      reply.rows = spec.rows;
      reply.nonFinite = scanNonFinite(rows, spec.features, spec.rowOffset, undefined) ?? null;
      if (writer.finished) ending.push(writer);
    }
    // A file's last rows: the reply waits until it is whole on disk (the host then fsyncs and renames it).
    let failure: unknown = null;
    for (const writer of ending) {
      this.files.delete(writer.spec.file);
      try {
        await writer.finish();
      } catch (err) {
        failure ??= err;
        await writer.close();
      }
    }
    if (failure !== null) throw failure;
    return replies;
  }

  /** Closes every file still open (the session ends; the host discards unfinished files). */
  async close(): Promise<void> {
    const open = [...this.files.values()];
    this.files.clear();
    await Promise.all(open.map((w) => w.close()));
  }
}
