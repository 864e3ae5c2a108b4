/**
 * Atomic file writes: write to a temporary sibling, fsync, then rename over the target. A crash or
 * a full disk leaves either the old file or none, never a half-written one under the real name.
 */
import { promises as fs } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

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
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}
