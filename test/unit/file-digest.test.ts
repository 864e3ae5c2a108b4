/**
 * prefixedFileDigest: sha256(prefix ‖ bytes) of an opened file, remembered per process only for
 * files whose last change has settled (a same-size rewrite within a timestamp tick must not be
 * mistaken for the old file).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prefixedFileDigest } from '../../app/engine/io/file-hash.js';
import { FILE_SIZE_LIMITS, openRegularFile, type OpenedRegularFile } from '../../app/engine/io/regular-file.js';
import { repoRoot } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ckawb-digest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The file opened, its reads counted. */
async function opened(path: string): Promise<{ file: OpenedRegularFile; reads: () => number }> {
  const file = await openRegularFile(path, { maxBytes: FILE_SIZE_LIMITS.array });
  let reads = 0;
  const read = file.handle.read.bind(file.handle) as (...args: unknown[]) => unknown;
  (file.handle as { read: unknown }).read = (...args: unknown[]) => {
    reads++;
    return read(...args);
  };
  return { file, reads: () => reads };
}

async function digestOf(prefix: string, path: string): Promise<{ digest: string; reads: number }> {
  const { file, reads } = await opened(path);
  try {
    return { digest: await prefixedFileDigest(prefix, file), reads: reads() };
  } finally {
    await file.close();
  }
}

const sha256 = (...parts: (string | Buffer)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

describe('prefixed file digests', () => {
  it('hash the prefix, then the bytes; a settled file is read once per process and prefix', async () => {
    // checked out long before the tests run: settled
    const images = join(repoRoot, 'models', 'probe', 'fashion-mnist-test-5000-images.npy');
    const bytes = readFileSync(images);
    const first = await digestOf('spec a\n', images);
    expect(first.digest).toBe(sha256('spec a\n', bytes));
    expect(first.reads).toBeGreaterThan(0);
    const again = await digestOf('spec a\n', images);
    expect(again).toEqual({ digest: first.digest, reads: 0 });
    const other = await digestOf('spec b\n', images);
    expect(other.digest).toBe(sha256('spec b\n', bytes));
    expect(other.reads).toBeGreaterThan(0);
  });

  it('a file changed just now is hashed again each time: a same-size rewrite is seen', async () => {
    const path = join(dir, 'probe.bin');
    writeFileSync(path, Buffer.from('abcdefgh'));
    const before = await digestOf('p\n', path);
    expect(before.digest).toBe(sha256('p\n', 'abcdefgh'));
    writeFileSync(path, Buffer.from('ABCDEFGH'));
    const after = await digestOf('p\n', path);
    expect(after.digest).toBe(sha256('p\n', 'ABCDEFGH'));
    expect(after.reads).toBeGreaterThan(0);
  });
});
