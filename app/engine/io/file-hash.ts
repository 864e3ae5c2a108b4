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

/** How long after its last change a file's digest may be remembered. */
export const SETTLED_AFTER_MS = 2000;

/**
 * An opened file's identity, as git's index keeps it (device, inode, size, modification and change
 * times in ns), and whether its digest may be remembered by it: only when the file last changed,
 * by either time (some file systems keep no change time), over `settledMs` ago. Timestamps are
 * coarser than writes (the "racy" case git guards against too), and a same-size rewrite in the same
 * tick would otherwise look unchanged.
 */
export async function fileIdentity(
  file: OpenedRegularFile,
  settledMs = SETTLED_AFTER_MS,
): Promise<{ stamp: string; settled: boolean }> {
  const stat = await file.handle.stat({ bigint: true });
  return {
    stamp: `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`,
    settled: Date.now() - Math.max(Number(stat.mtimeMs), Number(stat.ctimeMs)) > settledMs,
  };
}

/** Digests this process has computed, by file identity (fileIdentity) and prefix. */
const remembered = new Map<string, string>();
const REMEMBER_AT_MOST = 256;

/**
 * sha256(prefix ‖ the opened file's bytes) as lowercase hex. Several models of one experiment
 * open the same probe: its bytes are read and hashed once per process, not once per model.
 */
export async function prefixedFileDigest(prefix: string, file: OpenedRegularFile): Promise<string> {
  const { stamp, settled } = await fileIdentity(file);
  const key = `${stamp}\n${prefix}`;
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
