/** Hashing files as streams: models and probe data can be larger than memory should hold at once. */
import { createHash, type Hash } from 'node:crypto';
import {
  FILE_SIZE_LIMITS,
  hashOpenedFile,
  openRegularFile,
  type OpenedRegularFile,
  type RegularFileRequest,
} from './regular-file.js';

const ANY_SIZE: RegularFileRequest = { maxBytes: FILE_SIZE_LIMITS.array };

/** Streams a regular file (see regular-file.ts) into `hash`, never the whole file in memory. */
export async function hashFile(hash: Hash, path: string, request: RegularFileRequest = ANY_SIZE): Promise<void> {
  const file = await openRegularFile(path, request);
  try {
    await hashOpenedFile(hash, file);
  } finally {
    await file.close();
  }
}

/** The file's sha256 as lowercase hex, streamed (the digest the model reader computes for models). */
export async function fileSha256(path: string, request: RegularFileRequest = ANY_SIZE): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(hash, path, request);
  return hash.digest('hex');
}

/**
 * Digests this process has computed, by file identity and prefix. A file whose last change is
 * too recent is not remembered: timestamps are coarser than writes (the "racy" case git guards
 * against too), and a same-size rewrite in the same tick would otherwise look unchanged.
 */
const remembered = new Map<string, string>();
const REMEMBER_AFTER_MS = 2000;
const REMEMBER_AT_MOST = 256;

/**
 * sha256(prefix ‖ the opened file's bytes) as lowercase hex. Several models of one experiment
 * open the same probe: its bytes are read and hashed once per process, not once per model.
 */
export async function prefixedFileDigest(prefix: string, file: OpenedRegularFile): Promise<string> {
  const stat = await file.handle.stat({ bigint: true });
  const settled = Date.now() - Number(stat.ctimeMs) > REMEMBER_AFTER_MS;
  const key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}\n${prefix}`;
  const known = settled ? remembered.get(key) : undefined;
  if (known) return known;
  const hash = createHash('sha256').update(prefix);
  await hashOpenedFile(hash, file);
  const digest = hash.digest('hex');
  if (settled) {
    if (remembered.size >= REMEMBER_AT_MOST) remembered.clear();
    remembered.set(key, digest);
  }
  return digest;
}
