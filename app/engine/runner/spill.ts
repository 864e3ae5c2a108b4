/**
 * The host's side of large run replies (protocol.ts, SpilledRunReply): a private folder for the
 * runner's spill files — in /dev/shm where there is one (memory, not disk), else the temp folder —
 * a few reusable files per session, and reading a reply into typed arrays over a fresh buffer.
 */
import { existsSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import type { SpilledRunReply, WireTensor, WireTensorData } from './protocol.js';

const liveFolders = new Set<string>();
let exitHookInstalled = false;

/** A new private folder, removed at the latest when this process exits (even without `close()`). */
export function createSpillFolder(): string {
  const base = process.platform === 'linux' && existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  let dir: string;
  try {
    dir = mkdtempSync(join(base, 'cka-runner-'));
  } catch {
    dir = mkdtempSync(join(tmpdir(), 'cka-runner-'));
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => liveFolders.forEach((d) => rmSync(d, { recursive: true, force: true })));
  }
  liveFolders.add(dir);
  return dir;
}

export function removeSpillFolder(dir: string): void {
  liveFolders.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

let nextSlotId = 1;

/** Spill files of one session: one per outstanding run, reused once their reply has been read. */
export class SpillSlots {
  private readonly free: string[] = [];
  private readonly all: string[] = [];

  constructor(private readonly folder: () => string) {}

  take(): string {
    const file = this.free.pop() ?? join(this.folder(), `slot-${nextSlotId++}.bin`);
    if (!this.all.includes(file)) this.all.push(file);
    return file;
  }

  give(file: string): void {
    this.free.push(file);
  }

  async removeAll(): Promise<void> {
    await Promise.all(this.all.map((f) => fs.rm(f, { force: true })));
    this.all.length = 0;
    this.free.length = 0;
  }
}

type View = {
  new (buffer: ArrayBuffer | SharedArrayBuffer, offset: number, length: number): WireTensorData;
  BYTES_PER_ELEMENT: number;
};

const VIEWS: Record<string, View> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export function isSpilled(reply: unknown): reply is SpilledRunReply {
  return typeof (reply as { file?: unknown }).file === 'string';
}

/**
 * Reads the reply's bytes from `file` (the slot the request named) into one buffer: `into` when
 * it is large enough, else a new one.
 */
export async function readSpilled(
  reply: SpilledRunReply,
  file: string,
  into?: ArrayBuffer | SharedArrayBuffer,
): Promise<WireTensor[]> {
  if (reply.file !== file) throw new WorkbenchError('INTERNAL', `runner: reply written to ${reply.file}, not ${file}`);
  const buffer = into && into.byteLength >= reply.byteLength ? into : new ArrayBuffer(reply.byteLength);
  const bytes = new Uint8Array(buffer, 0, reply.byteLength);
  const start = reply.start ?? 0;
  const handle = await fs.open(file, 'r');
  try {
    for (let done = 0; done < bytes.length;) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done);
      if (bytesRead === 0) throw new WorkbenchError('INTERNAL', 'runner: truncated reply file');
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return reply.outputs.map((t) => {
    const View = VIEWS[t.type];
    if (!View) throw new WorkbenchError('UNSUPPORTED', `runner: cannot read ${t.type} outputs`);
    if (t.byteOffset + t.byteLength > buffer.byteLength) {
      throw new WorkbenchError('INTERNAL', 'runner: reply file shorter than its outputs');
    }
    const data = new View(buffer, t.byteOffset, t.byteLength / View.BYTES_PER_ELEMENT);
    return { name: t.name, type: t.type, dims: t.dims, data };
  });
}

/**
 * Buffers that spilled replies were read into, handed back once their tensors are no longer used
 * (`recycle`), for the next replies: on these machines a page of fresh memory costs more to touch
 * than to fill (a 5000-example extraction of a zoo CNN faulted in 1.6 GiB of them, one batch after
 * another). At most `keep` are kept.
 */
export class SpillBuffers {
  private readonly free: ArrayBuffer[] = [];
  private readonly ours = new WeakSet<ArrayBuffer>();

  constructor(private readonly keep = 4) {}

  /** A kept buffer of at least `bytes`, or undefined (readSpilled then allocates one). */
  take(bytes: number): ArrayBuffer | undefined {
    const i = this.free.findIndex((b) => b.byteLength >= bytes);
    return i >= 0 ? this.free.splice(i, 1)[0] : undefined;
  }

  /** Marks the buffer behind a read reply as ours (returned by recycle later). */
  adopt(tensors: readonly WireTensor[]): void {
    const buffer = tensors[0]?.data.buffer;
    if (buffer instanceof ArrayBuffer) this.ours.add(buffer);
  }

  /** The reply's tensors are no longer read: their buffer may hold the next reply. */
  recycle(tensors: readonly WireTensor[]): void {
    const buffer = tensors[0]?.data.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.ours.has(buffer) || this.free.includes(buffer)) return;
    this.free.push(buffer);
    if (this.free.length > this.keep) this.free.sort((a, b) => b.byteLength - a.byteLength).pop();
  }
}
