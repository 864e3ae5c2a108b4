/**
 * The one door through which the engine opens a file it did not write itself: models and their
 * external data, probe files (.npy, .npz, images, text, tokenizer.json), activation files named
 * by a request, manifests. Whatever the path names, what gets opened is a regular file of bounded
 * size, or the caller gets BAD_INPUT naming the path at once:
 *
 *   const file = await openRegularFile(path, { what: 'model', maxBytes: FILE_SIZE_LIMITS.model });
 *   try { … file.handle.read(…) … } finally { await file.close(); }
 *
 *   const { bytes } = await readRegularFile(path, { maxBytes: FILE_SIZE_LIMITS.tokenizer });
 *   await checkRegularFile(path, { maxBytes });    // for a path handed to a library (onnxruntime, sharp)
 *
 * Why not `fs.readFile(path)`: a FIFO blocks `open(2)` until a writer appears — inside one of
 * libuv's four thread-pool threads, so four such requests stall every other file operation of the
 * process — and `/dev/zero` (also behind a link) reads forever. So links are resolved, the target
 * is stat'ed (a device is never opened: opening some has side effects), and the file is then
 * opened with O_NONBLOCK (a FIFO swapped in after the stat does not block the open either) and
 * checked again on the handle, which must be the very file that was stat'ed. O_NONBLOCK means
 * nothing for regular files, so reads through the handle behave as usual.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Hash } from 'node:crypto';
import { resolve } from 'node:path';
import { WorkbenchError, toWorkbenchError } from '../../common/errors.js';

/** The largest file of each kind the engine opens (bytes). */
export const FILE_SIZE_LIMITS = {
  /** A ModelProto is one protobuf message, which cannot exceed 2 GiB; larger models use external data. */
  model: 2 ** 31 - 1,
  /** External weights: read by onnxruntime, checked here. */
  externalData: 2 ** 40,
  /** .npy/.npz probes and activation files: read by range, never whole. */
  array: 2 ** 40,
  /** One image file of an `images:` probe (decoded from memory). */
  image: 2 ** 28,
  /** tokenizer.json and tokenizer_config.json (read whole and parsed). */
  tokenizer: 2 ** 28,
  /** A text probe file (read whole). */
  text: 2 ** 30,
  /** Manifests and other JSON the engine reads whole. */
  json: 2 ** 26,
} as const;

export interface RegularFileRequest {
  /** Larger files are refused (BAD_INPUT) before anything is read. */
  maxBytes: number;
  /** What the file is, for messages ("model", "probe npy:x.npy"); the path is always named. */
  what?: string;
}

export interface OpenedRegularFile {
  /** The path as given, made absolute (messages name it). */
  path: string;
  /** Where it really is (links resolved). */
  realPath: string;
  size: number;
  /** Opened read-only; close it with `close()`. */
  handle: FileHandle;
  close(): Promise<void>;
}

function describeType(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO (named pipe)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(path: string, realPath: string, stat: Stats, what: string | undefined): WorkbenchError {
  const target = realPath !== path ? ` (a link to ${realPath})` : '';
  const of = what ? ` (the ${what})` : '';
  return new WorkbenchError('BAD_INPUT', `${path}${of}: is ${describeType(stat)}${target}, not a regular file`);
}

function tooLarge(path: string, size: number, request: RegularFileRequest): WorkbenchError {
  const what = request.what ?? 'file';
  return new WorkbenchError(
    'BAD_INPUT',
    `${path}: ${size.toLocaleString('en-US')} bytes is more than a ${what} may have (${formatLimit(request.maxBytes)})`,
  );
}

function formatLimit(bytes: number): string {
  const gib = bytes / 2 ** 30;
  return gib >= 1 ? `${Math.round(gib * 10) / 10} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}

function failure(path: string, err: unknown): WorkbenchError {
  const errno = (err as NodeJS.ErrnoException).code;
  if (errno === 'ELOOP')
    return new WorkbenchError('BAD_INPUT', `${path}: a link that leads to itself (a loop of links)`);
  if (errno === 'ENAMETOOLONG') return new WorkbenchError('BAD_INPUT', `${path}: the path is too long`);
  const e = toWorkbenchError(err);
  if (e.code === 'NOT_FOUND') return new WorkbenchError('NOT_FOUND', `${path}: no such file`);
  return new WorkbenchError(e.code, e.message.startsWith(path) ? e.message : `${path}: ${e.message}`);
}

/** The real path and stat of what `path` names, refusing anything but a regular file within the limit. */
async function statRegular(path: string, request: RegularFileRequest): Promise<{ realPath: string; stat: Stats }> {
  let realPath: string;
  let stat: Stats;
  try {
    realPath = await fs.realpath(path);
    stat = await fs.stat(realPath);
  } catch (err) {
    throw failure(path, err);
  }
  if (!stat.isFile()) throw notRegular(path, realPath, stat, request.what);
  if (stat.size > request.maxBytes) throw tooLarge(path, stat.size, request);
  return { realPath, stat };
}

/** Opens a regular file for reading (see the module comment); anything else is refused at once. */
export async function openRegularFile(path: string, request: RegularFileRequest): Promise<OpenedRegularFile> {
  const absolute = resolve(path);
  const { realPath, stat } = await statRegular(absolute, request);
  let handle: FileHandle;
  try {
    handle = await fs.open(realPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw failure(absolute, err);
  }
  try {
    const opened = await handle.stat();
    // Swapped between the stat and the open: judge what was opened.
    if (!opened.isFile()) throw notRegular(absolute, realPath, opened, request.what);
    if (opened.dev !== stat.dev || opened.ino !== stat.ino) {
      throw new WorkbenchError('BAD_INPUT', `${absolute}: the file was replaced while it was being opened`);
    }
    if (opened.size > request.maxBytes) throw tooLarge(absolute, opened.size, request);
    return { path: absolute, realPath, size: opened.size, handle, close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Checks that `path` is a regular file within the limit without reading it: for paths the engine
 * hands to a library that opens them itself (onnxruntime's external data). Opens and closes it, so
 * a FIFO is caught the same way.
 */
export async function checkRegularFile(
  path: string,
  request: RegularFileRequest,
): Promise<{ path: string; realPath: string; size: number }> {
  const file = await openRegularFile(path, request);
  await file.close();
  return { path: file.path, realPath: file.realPath, size: file.size };
}

const CHUNK_BYTES = 8 * 2 ** 20;

/**
 * Reads the whole of an opened file: exactly the size it had when opened (a file that grows meanwhile
 * is read to that size; one that shrinks is an error), `onChunk` seeing each chunk as it arrives.
 */
export async function readOpenedFile(file: OpenedRegularFile, onChunk?: (chunk: Uint8Array) => void): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(file.size);
  let done = 0;
  while (done < file.size) {
    const length = Math.min(CHUNK_BYTES, file.size - done);
    const { bytesRead } = await file.handle.read(bytes, done, length, done);
    if (bytesRead === 0) {
      throw new WorkbenchError('BAD_INPUT', `${file.path}: the file got shorter while it was being read`);
    }
    onChunk?.(bytes.subarray(done, done + bytesRead));
    done += bytesRead;
  }
  return bytes;
}

/** The whole file, after the checks of {@link openRegularFile}. */
export async function readRegularFile(
  path: string,
  request: RegularFileRequest,
): Promise<{ bytes: Buffer; path: string; realPath: string; size: number }> {
  const file = await openRegularFile(path, request);
  try {
    const bytes = await readOpenedFile(file);
    return { bytes, path: file.path, realPath: file.realPath, size: file.size };
  } finally {
    await file.close();
  }
}

// 1 MiB hashes in under a millisecond: hashing on the engine's thread never holds it up for long.
const HASH_CHUNK_BYTES = 2 ** 20;

/** Streams an opened file's bytes into `hash`, one chunk in memory at a time. */
export async function hashOpenedFile(hash: Hash, file: OpenedRegularFile): Promise<void> {
  const chunk = Buffer.allocUnsafe(Math.min(HASH_CHUNK_BYTES, Math.max(1, file.size)));
  let done = 0;
  while (done < file.size) {
    const { bytesRead } = await file.handle.read(chunk, 0, Math.min(chunk.length, file.size - done), done);
    if (bytesRead === 0) {
      throw new WorkbenchError('BAD_INPUT', `${file.path}: the file got shorter while it was being read`);
    }
    hash.update(chunk.subarray(0, bytesRead));
    done += bytesRead;
  }
}

/** A whole text file as UTF-8 (manifests, JSON, tokenizer files), after the checks of {@link openRegularFile}. */
export async function readRegularText(path: string, request: RegularFileRequest): Promise<string> {
  return (await readRegularFile(path, request)).bytes.toString('utf8');
}
