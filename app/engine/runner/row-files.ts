/**
 * Rows written by the runner itself into the `.npy` files the host prepared (extract --out): the
 * activations never cross to the host, are never spilled or copied there, and the disk takes them
 * while the next batch runs.
 *
 * The runner writes each file whole — its npy header (io/npy.ts, the bytes the host would write)
 * and every row, at the offsets the host names — and, with a file's last rows, sets its exact
 * length and closes it. The host fsyncs and renames it (activations/npy-row-writer.ts).
 *
 * Where the file system allows it, with O_DIRECT: on the machines we measured, putting 1.6 GiB
 * through the page cache cost 1.4–3.6 s of kernel CPU (fresh pages, each faulted in), as much as
 * the inference it competes with for the cores; a direct write costs a tenth of that and the disk
 * does the copy. Direct I/O wants the memory, the file offset and the length aligned to the
 * device's block: rows are copied into page-aligned staging chunks (one WebAssembly.Memory; its
 * buffer starts on a page) and written in whole blocks of ALIGN bytes, the last partial block
 * of a file carried to its next rows and, at the end, padded and cut off again by ftruncate.
 * Where O_DIRECT is refused (tmpfs, other systems), the same writes go through the page cache.
 *
 * Writes are asynchronous (libuv's pool), at most CHUNKS of CHUNK_BYTES in flight; an error is
 * kept and thrown at the file's next rows or at its end, which waits for all of them.
 */
import { constants as fsConstants, close, ftruncate, open, write } from 'node:fs';
import { promisify } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { scanNonFinite } from '../cka/non-finite.js';
import { npyHeaderBytes } from '../io/npy.js';
import { withPath } from '../io/write-faults.js';
import type { LayerWritten, RunFilesRequest, RowFileSpec, WireTensor } from './protocol.js';
import { ROW_FLOAT_TYPES, asFloat32 } from './reduce.js';

const openAsync = promisify(open);
const writeAsync = promisify(write);
const closeAsync = promisify(close);
const ftruncateAsync = promisify(ftruncate);

/** Block alignment of direct writes: 4096 satisfies devices of 512- and 4096-byte blocks. */
const ALIGN = 4096;
const CHUNK_BYTES = 8 * 2 ** 20;
const CHUNKS = 8;
const O_DIRECT = (fsConstants as { O_DIRECT?: number }).O_DIRECT;

/** Page-aligned staging memory: CHUNKS chunks, each lent to one write at a time. */
class StagingChunks {
  private memory: Uint8Array | null = null;
  private readonly free: number[] = [];
  private readonly waiters: ((chunk: number) => void)[] = [];

  /** A free chunk's index (waits for a write to end when all are in flight). */
  take(): Promise<number> | number {
    if (!this.memory) {
      // WebAssembly memory is allocated in whole pages from a page boundary: the alignment direct I/O needs.
      const memory = new WebAssembly.Memory({ initial: (CHUNKS * CHUNK_BYTES) / 65536 });
      this.memory = new Uint8Array(memory.buffer);
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

/** One `.npy` file: its header and rows, appended in order, in aligned blocks. */
class RowFileWriter {
  /** File offset of `carry[0]`: always a multiple of ALIGN. */
  private position = 0;
  /** The bytes after the last whole block written (< ALIGN), written with the next rows. */
  private carry = new Uint8Array(ALIGN);
  private carried = 0;
  private rowsReceived = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;
  /** The O_DIRECT descriptor, else -1; kept open until `close` (writes queued on it may still run). */
  private readonly directFd: number;
  private reopening: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly spec: RowFileSpec,
    private fd: number,
    direct: boolean,
    private readonly staging: StagingChunks,
  ) {
    this.directFd = direct ? fd : -1;
    const header = npyHeaderBytes('float32', [spec.totalRows, spec.features]);
    this.carry.set(header);
    this.carried = header.length;
  }

  static async open(spec: RowFileSpec, staging: StagingChunks): Promise<RowFileWriter> {
    // No O_CREAT: the host created the file and owns its life (a vanished file is an error here).
    if (O_DIRECT !== undefined) {
      try {
        return new RowFileWriter(spec, await openAsync(spec.file, fsConstants.O_WRONLY | O_DIRECT), true, staging);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw withPath(err, spec.target);
      }
    }
    try {
      return new RowFileWriter(spec, await openAsync(spec.file, fsConstants.O_WRONLY), false, staging);
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
    for (let done = 0; done < bytes.length;) {
      const chunk = await this.staging.take();
      const stage = this.staging.bytes(chunk);
      stage.set(this.carry.subarray(0, this.carried));
      const take = Math.min(bytes.length - done, stage.length - this.carried);
      stage.set(bytes.subarray(done, done + take), this.carried);
      done += take;
      const filled = this.carried + take;
      const whole = filled - (filled % ALIGN);
      this.carried = filled - whole;
      this.carry.set(stage.subarray(whole, filled));
      if (whole > 0) {
        this.launch(chunk, stage.subarray(0, whole), this.position);
        this.position += whole;
      } else {
        this.staging.give(chunk);
      }
    }
  }

  /** After the last rows: the partial block padded, every write awaited, the exact length set, closed. */
  async finish(): Promise<void> {
    if (this.carried > 0) {
      const chunk = await this.staging.take();
      const stage = this.staging.bytes(chunk);
      stage.set(this.carry.subarray(0, this.carried));
      stage.fill(0, this.carried, ALIGN);
      this.launch(chunk, stage.subarray(0, ALIGN), this.position);
    }
    const length = this.position + this.carried;
    await this.settle();
    this.throwIfFailed();
    try {
      await ftruncateAsync(this.fd, length);
    } catch (err) {
      throw withPath(err, this.spec.target);
    }
    await this.close();
  }

  /** Waits for the writes in flight and closes the file (an abandoned or finished file). */
  async close(): Promise<void> {
    await this.settle();
    await this.reopening?.catch(() => undefined);
    if (this.closed) return;
    this.closed = true;
    const fds = new Set([this.fd, this.directFd].filter((fd) => fd >= 0));
    await Promise.all([...fds].map((fd) => closeAsync(fd).catch(() => undefined)));
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
      const fd = this.fd;
      try {
        done += (await writeAsync(fd, bytes, done, bytes.length - done, position + done)).bytesWritten;
      } catch (err) {
        // A file system that takes O_DIRECT opens but not these alignments: the page cache, from now on.
        if (fd !== this.directFd || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.reopening ??= openAsync(this.spec.file, fsConstants.O_WRONLY).then((buffered) => {
          this.fd = buffered;
        });
        await this.reopening;
      }
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
      const expected = spec.dims.length === tensor.dims.length && spec.dims.every((d, k) => d === tensor.dims[k]);
      // Not the asked-for rows: nothing is written, and the host names the problem from dims and type.
      if (!expected || !ROW_FLOAT_TYPES.has(tensor.type)) continue;
      const rows = asFloat32(tensor).subarray(0, spec.rows * spec.features);
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
