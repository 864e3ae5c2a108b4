/** Hashing files as streams: models and probe data can be larger than memory should hold at once. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Streams a file into `hash` (never the whole file in memory). */
export async function hashFile(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

/** The file's sha256 as lowercase hex, streamed (the same digest as onnx/model-file.ts sha256Hex of its bytes). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(hash, path);
  return hash.digest('hex');
}
