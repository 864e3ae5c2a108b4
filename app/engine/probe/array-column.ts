/**
 * One stored array (an .npy file or an .npz member) as rows of raw bytes: its header checked
 * (C order, at least one example, as long as it declares), examples read by range. What a model
 * input gets from it is decided by the caller (dtype-cast.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import type { OpenedRegularFile } from '../io/regular-file.js';
import { WorkbenchError } from '../../common/errors.js';
import { parseNpyHeader, type NpyHeader } from '../io/npy.js';
import type { ByteSource } from './byte-source.js';
import { listNpzMembers, memberBytes, type NpzMember } from './npz-archive.js';
import { openProbeFile } from './array-probe.js';

const MAX_NPY_HEADER = 65_535 + 12;

export interface ArrayColumn {
  /** `/x/probe.npz:input_ids`, for messages. */
  source: string;
  header: NpyHeader;
  n: number;
  /** One example's shape (the array's shape without its first axis). */
  exampleShape: number[];
  /** Raw bytes of examples [start, start + count), in the file's dtype and byte order. */
  readRaw(start: number, count: number): Promise<Uint8Array>;
}

export async function arrayColumn(bytes: ByteSource, source: string): Promise<ArrayColumn> {
  const head = await bytes.read(0, Math.min(bytes.size, MAX_NPY_HEADER));
  let header: NpyHeader;
  try {
    header = parseNpyHeader(head, source);
  } catch (err) {
    throw new WorkbenchError('BAD_PROBE', (err as Error).message);
  }
  if (header.fortranOrder && header.shape.length > 1) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `${source}: the array is stored in Fortran order; save np.ascontiguousarray(x)`,
    );
  }
  if (header.shape.length === 0 || header.shape[0] === 0) {
    throw new WorkbenchError('BAD_PROBE', `${source}: the array has no examples (shape [${header.shape.join(', ')}])`);
  }
  const n = header.shape[0]!;
  const exampleShape = header.shape.slice(1);
  const rowBytes = exampleShape.reduce((a, b) => a * b, 1) * header.itemSize;
  if (header.dataOffset + n * rowBytes > bytes.size) {
    throw new WorkbenchError('BAD_PROBE', `${source}: the array is truncated (${n} examples declared)`);
  }
  return {
    source,
    header,
    n,
    exampleShape,
    readRaw: (start, count) => bytes.read(header.dataOffset + start * rowBytes, count * rowBytes),
  };
}

/** An open .npz archive: its members by key, each readable as a column. */
export interface NpzArchive {
  path: string;
  /** The archive as it was opened (its bytes are what the probe hash covers). */
  file: OpenedRegularFile;
  handle: FileHandle;
  members: NpzMember[];
  column(key: string): Promise<ArrayColumn>;
  close(): Promise<void>;
}

export async function openNpzArchive(absolute: string, what: string): Promise<NpzArchive> {
  const file = await openProbeFile(absolute, what);
  const { handle } = file;
  try {
    const members = await listNpzMembers(handle, file.size, absolute);
    if (members.length === 0) throw new WorkbenchError('BAD_PROBE', `${absolute}: the archive holds no arrays`);
    return {
      path: absolute,
      file,
      handle,
      members,
      async column(key) {
        const member = members.find((m) => m.key === key);
        if (!member) throw new WorkbenchError('INTERNAL', `${absolute}: no member ${key}`);
        return arrayColumn(await memberBytes(handle, member, absolute), `${absolute}:${key}`);
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
