/**
 * Atomic file writes: write to a temporary sibling, fsync, then rename over the target. A crash or
 * a full disk leaves either the old file or none, never a half-written one under the real name.
 */
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { withPath, writeFault } from './write-faults.js';

/** The name of a temporary sibling; cache cleaners delete leftovers matching {@link isTempName}. */
export function tempSiblingPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

export function isTempName(fileName: string): boolean {
  return fileName.startsWith('.') && fileName.endsWith('.tmp');
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true });
  const temp = tempSiblingPath(path);
  const handle = await fs.open(temp, 'w');
  try {
    const fault = writeFault(path, 0, typeof data === 'string' ? Buffer.byteLength(data) : data.length);
    if (fault) {
      // Tests only: half the data reaches the disk, then it is full.
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      await handle.write(bytes, 0, bytes.length >> 1);
      throw fault;
    }
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw withPath(err, path);
  }
  await handle.close();
  try {
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
