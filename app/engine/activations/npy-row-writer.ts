/**
 * Writes a float32 `.npy` [rows, features] incrementally: the header first (the row count is known
 * up front), then row blocks as they arrive, into a temporary sibling; `commit` checks every row
 * is there, fsyncs and renames into place (the data is flushed in the background as it is written). A crash or `discard` leaves at most a temp file that
 * readers ignore (io/atomic.ts `isTempName`), never a short file under the real name.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { tempSiblingPath } from '../io/atomic.js';
import { npyHeaderBytes } from '../io/npy.js';
import { withPath, writeFault } from '../io/write-faults.js';

/**
 * Bytes written between background flushes (one at a time per file): the disk takes them while
 * the extraction goes on, so `commit`'s fsync has little left. Small, because the kernel itself
 * starts writing only at gigabytes of dirty pages and the threshold counts per file: at 64 MiB an
 * extraction into 12 files kept the disk idle for its first ~0.8 GB. plain-d4, every ReLU, 5000
 * examples (1.6 GiB): 64 MiB 4.0 s, 16 MiB 3.7 s, 8 MiB 3.5 s, 4 MiB 3.1 s, 2 MiB 3.25 s.
 */
const FLUSH_EVERY_BYTES = 4 * 2 ** 20;

export class NpyRowWriter {
  private rowsWritten = 0;
  private position: number;
  private done = false;
  private unflushed = 0;
  /** A background fdatasync in flight (its errors resurface in commit's own fsync). */
  private flushing: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    private readonly tempPath: string,
    private readonly handle: FileHandle,
    readonly rows: number,
    readonly features: number,
    headerLength: number,
  ) {
    this.position = headerLength;
  }

  static async create(path: string, rows: number, features: number): Promise<NpyRowWriter> {
    await fs.mkdir(dirname(path), { recursive: true });
    const tempPath = tempSiblingPath(path);
    const handle = await fs.open(tempPath, 'w');
    try {
      const header = npyHeaderBytes('float32', [rows, features]);
      await handle.write(header, 0, header.length, 0);
      return new NpyRowWriter(path, tempPath, handle, rows, features, header.length);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(tempPath, { force: true });
      throw err;
    }
  }

  /** Appends whole rows (length a multiple of `features`), in order. */
  async append(data: Float32Array): Promise<void> {
    const rows = data.length / this.features;
    if (!Number.isInteger(rows) || this.rowsWritten + rows > this.rows) {
      throw new WorkbenchError('INTERNAL', `${this.path}: ${data.length} values do not fit the remaining rows`);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const fault = writeFault(this.path, this.position, bytes.length);
    // A fault (tests only) writes half the block first, as a disk that fills up midway does.
    const end = fault ? bytes.length >> 1 : bytes.length;
    let done = 0;
    try {
      while (done < end) {
        const { bytesWritten } = await this.handle.write(bytes, done, end - done, this.position + done);
        done += bytesWritten;
      }
      if (fault) throw fault;
    } catch (err) {
      throw withPath(err, this.path);
    }
    this.advance(rows, bytes.length);
  }

  /** The temporary file the rows go to until `commit` (another process may write them: `writtenElsewhere`). */
  get tempFile(): string {
    return this.tempPath;
  }

  /** `rows` more rows were written into the temporary file by another process (the model runner). */
  writtenElsewhere(rows: number): void {
    if (!Number.isInteger(rows) || rows < 0 || this.rowsWritten + rows > this.rows) {
      throw new WorkbenchError('INTERNAL', `${this.path}: ${rows} more rows do not fit the remaining rows`);
    }
    this.advance(rows, rows * this.features * Float32Array.BYTES_PER_ELEMENT);
  }

  /** Counts written rows; every FLUSH_EVERY_BYTES, a background flush (of every writer's pages of this file). */
  private advance(rows: number, bytes: number): void {
    this.position += bytes;
    this.rowsWritten += rows;
    this.unflushed += bytes;
    if (this.unflushed >= FLUSH_EVERY_BYTES && !this.flushing) {
      this.unflushed = 0;
      this.flushing = this.handle.datasync().then(
        () => {
          this.flushing = null;
        },
        () => {
          this.flushing = null;
        },
      );
    }
  }

  async commit(): Promise<void> {
    if (this.rowsWritten !== this.rows) {
      await this.discard();
      throw new WorkbenchError('INTERNAL', `${this.path}: ${this.rowsWritten} of ${this.rows} rows written`);
    }
    this.done = true;
    try {
      await this.flushing;
      await this.handle.sync();
      await this.handle.close();
      await fs.rename(this.tempPath, this.path);
    } catch (err) {
      await this.handle.close().catch(() => undefined);
      await fs.rm(this.tempPath, { force: true });
      throw err;
    }
  }

  async discard(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.flushing;
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.tempPath, { force: true });
  }
}
