/**
 * The members of an .npz archive (a zip file of .npy files, as `np.savez` / `np.savez_compressed`
 * write them), found through the zip central directory so nothing is decompressed up front.
 * ZIP64 records are understood (numpy writes every member with ZIP64 local headers).
 * Spec: PKWARE APPNOTE.TXT §4.3.
 */
import type { FileHandle } from 'node:fs/promises';
import { WorkbenchError } from '../../common/errors.js';
import { fileByteSource, inflatingByteSource, type ByteSource } from './byte-source.js';

export interface NpzMember {
  /** The array's key: the member name without `.npy`. */
  key: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_EOCD_SEARCH = 22 + 65_535;
const STORED = 0;
const DEFLATED = 8;

function bad(source: string, problem: string): never {
  throw new WorkbenchError('BAD_PROBE', `${source}: not a readable .npz archive (${problem})`);
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<DataView> {
  const bytes = new Uint8Array(length);
  const { bytesRead } = await handle.read(bytes, 0, length, position);
  return new DataView(bytes.buffer, 0, bytesRead);
}

function u64(view: DataView, at: number): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('64-bit size too large');
  return Number(value);
}

export async function listNpzMembers(handle: FileHandle, fileSize: number, source: string): Promise<NpzMember[]> {
  try {
    return await readDirectory(handle, fileSize, source);
  } catch (err) {
    // A length or offset in the archive that points past its records (DataView and typed-array bounds).
    if (err instanceof RangeError) bad(source, err.message);
    throw err;
  }
}

async function readDirectory(handle: FileHandle, fileSize: number, source: string): Promise<NpzMember[]> {
  const tailLength = Math.min(fileSize, MAX_EOCD_SEARCH);
  const tail = await readAt(handle, fileSize - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad(source, 'no zip end-of-directory record');
  let entries = tail.getUint16(eocd + 10, true);
  let directorySize = tail.getUint32(eocd + 12, true);
  let directoryOffset = tail.getUint32(eocd + 16, true);
  if (eocd >= 20 && tail.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIGNATURE) {
    const zip64 = await readAt(handle, u64(tail, eocd - 20 + 8), 56);
    if (zip64.byteLength < 56 || zip64.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) bad(source, 'broken ZIP64 record');
    entries = u64(zip64, 32);
    directorySize = u64(zip64, 40);
    directoryOffset = u64(zip64, 48);
  }
  if (directoryOffset + directorySize > fileSize) bad(source, 'the directory lies outside the file');
  const directory = await readAt(handle, directoryOffset, directorySize);
  const members: NpzMember[] = [];
  let at = 0;
  for (let e = 0; e < entries; e++) {
    if (at + 46 > directory.byteLength || directory.getUint32(at, true) !== CENTRAL_SIGNATURE) {
      bad(source, 'broken central directory');
    }
    const method = directory.getUint16(at + 10, true);
    let compressedSize = directory.getUint32(at + 20, true);
    let size = directory.getUint32(at + 24, true);
    const nameLength = directory.getUint16(at + 28, true);
    const extraLength = directory.getUint16(at + 30, true);
    const commentLength = directory.getUint16(at + 32, true);
    let localHeaderOffset = directory.getUint32(at + 42, true);
    const nameBytes = new Uint8Array(directory.buffer, at + 46, nameLength);
    const name = new TextDecoder().decode(nameBytes);
    // ZIP64 extra field (id 1): the 64-bit values of whichever fields are 0xFFFFFFFF, in this order.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = directory.getUint16(extra, true);
      const length = directory.getUint16(extra + 2, true);
      if (id === 1) {
        let p = extra + 4;
        if (size === 0xffffffff) {
          size = u64(directory, p);
          p += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(directory, p);
          p += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(directory, p);
      }
      extra += 4 + length;
    }
    if (name.endsWith('.npy')) {
      members.push({ key: name.slice(0, -4), method, compressedSize, size, localHeaderOffset });
    }
    at = extraEnd + commentLength;
  }
  return members;
}

/** The bytes of one member's .npy file. */
export async function memberBytes(handle: FileHandle, member: NpzMember, source: string): Promise<ByteSource> {
  const local = await readAt(handle, member.localHeaderOffset, 30);
  if (local.byteLength < 30 || local.getUint32(0, true) !== LOCAL_SIGNATURE)
    bad(source, `broken entry '${member.key}'`);
  const dataStart = member.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  const where = `${source}:${member.key}`;
  if (member.method === STORED) return fileByteSource(handle, dataStart, member.size, where);
  if (member.method === DEFLATED) {
    return inflatingByteSource(handle, dataStart, member.compressedSize, member.size, where);
  }
  bad(source, `entry '${member.key}' uses zip compression method ${member.method} (only stored and deflate)`);
}
