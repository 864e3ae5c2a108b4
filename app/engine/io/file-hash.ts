/** Hashing files as streams: models and probe data can be larger than memory should hold at once. */
import { createHash, type Hash } from 'node:crypto';
import { FILE_SIZE_LIMITS, hashOpenedFile, openRegularFile, type RegularFileRequest } from './regular-file.js';

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
