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
 * Each run's rows are written asynchronously (libuv's pool) straight from the run's output
 * buffers, in pieces of PIECE_BYTES, at most IN_FLIGHT_BYTES at once: the session gives this
 * module outputs of their own (onnxruntime-node hands each run's outputs over in new buffers), so
 * nothing is copied first (a staging copy was 1.6 GiB of memory traffic for plain-d4's ReLUs at
 * 5000 examples; its extraction took 2.97–3.37 s without it, 3.07–3.49 s with it, interleaved).
 * A write's error is kept and thrown at the file's next rows or at its end, which
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

/** Largest single write: a run's rows go out in pieces this size, several at once (libuv's pool). */
const PIECE_BYTES = 8 * 2 ** 20;
/** Bytes written at once, at most: a run waits for earlier writes beyond this. */
const IN_FLIGHT_BYTES = 64 * 2 ** 20;

/** Bytes of writes in flight, bounded: `take` waits until earlier writes have given theirs back. */
class WriteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; resume: () => void }[] = [];

  take(bytes: number): Promise<void> | void {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return;
    }
    return new Promise((resume) => this.waiters.push({ bytes, resume }));
  }

  give(bytes: number): void {
    this.used -= bytes;
    while (this.waiters.length > 0) {
      const next = this.waiters[0]!;
      if (!this.fits(next.bytes)) break;
      this.waiters.shift();
      this.used += next.bytes;
      next.resume();
    }
  }

  /** Whether `bytes` more may go now: within the budget, or alone (one write larger than it still goes). */
  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= IN_FLIGHT_BYTES;
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
    private readonly budget: WriteBudget,
  ) {
    this.header = npyHeaderBytes('float32', [spec.totalRows, spec.features]);
  }

  static async open(spec: RowFileSpec, budget: WriteBudget): Promise<RowFileWriter> {
    try {
      // No O_CREAT: the host created the file and owns its life (a vanished file is an error here).
      return new RowFileWriter(spec, await openAsync(spec.file, fsConstants.O_WRONLY), budget);
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
    if (this.header) {
      await this.launch(this.header, this.position);
      this.position += this.header.length;
      this.header = null;
    }
    const bytes = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
    for (let done = 0; done < bytes.length; done += PIECE_BYTES) {
      const piece = bytes.subarray(done, Math.min(bytes.length, done + PIECE_BYTES));
      await this.launch(piece, this.position);
      this.position += piece.length;
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

  /** Starts writing `bytes` at `position` once the budget allows; they must stay unchanged until written. */
  private async launch(bytes: Uint8Array, position: number): Promise<void> {
    await this.budget.take(bytes.length);
    const done = this.writeAll(bytes, position)
      .catch((err: unknown) => {
        this.failure ??= withPath(err, this.spec.target);
      })
      .finally(() => {
        this.inFlight.delete(done);
        this.budget.give(bytes.length);
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
  private readonly budget = new WriteBudget();

  /**
   * Writes one run's outputs (one per fetched tensor) into their layers' files; what each layer
   * gave, or null for the layers without a file (their rows go back to the host). The outputs'
   * memory is written from after this returns: nobody may change it (no buffer reused for a later run).
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
        writer = await RowFileWriter.open(spec, this.budget);
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
