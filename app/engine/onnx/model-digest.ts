/**
 * A model's sha256, the identity every cache keyed by a model uses (activations, Grams, pairs,
 * calibrations; layouts are found by the file's own): the sha256 of its file — or, for a model that
 * keeps tensors in side files (ONNX external data), a sha256 over the file's digest and each side
 * file's location and digest. So a change to the weights alone is a different model, and a model
 * without side files keeps the digest of its file, which `sha256sum` prints too.
 *
 *   sha256("onnx+external-data\n" ‖ fileSha256 ‖ "\n" ‖ for each location, in code-unit order:
 *          location ‖ "\0" ‖ sha256(side file) ‖ "\n")
 */
import { createHash } from 'node:crypto';
import { prefixedFileDigest } from '../io/file-hash.js';
import { FILE_SIZE_LIMITS, openRegularFile } from '../io/regular-file.js';
import type { CheckedSideFile } from './external-data.js';

export interface SideFileDigest {
  /** As the model names it (relative to the model's folder). */
  location: string;
  sha256: string;
}

export function modelDigest(fileSha256: string, sides: readonly SideFileDigest[]): string {
  if (sides.length === 0) return fileSha256;
  const hash = createHash('sha256').update(`onnx+external-data\n${fileSha256}\n`);
  const ordered = [...sides].sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
  for (const side of ordered) hash.update(`${side.location}\0${side.sha256}\n`);
  return hash.digest('hex');
}

/**
 * The digests of side files external-data.ts checked. By default each is read once per process
 * while it is unchanged (io/file-hash.ts remembers digests by file identity), so a model's weights
 * are hashed again only when they change, not at every open of the model; a run passes the
 * digests its store remembers across processes instead.
 */
export async function sideFileDigests(
  sides: readonly CheckedSideFile[],
  sha256: (path: string) => Promise<string> = digestInProcess,
): Promise<SideFileDigest[]> {
  const digests: SideFileDigest[] = [];
  for (const side of sides) digests.push({ location: side.location, sha256: await sha256(side.path) });
  return digests;
}

async function digestInProcess(path: string): Promise<string> {
  const file = await openRegularFile(path, { what: 'external data', maxBytes: FILE_SIZE_LIMITS.externalData });
  try {
    return await prefixedFileDigest('', file);
  } finally {
    await file.close();
  }
}
