/**
 * The images an `images:DIR` probe reads: the folder's own regular files with an image extension,
 * sorted by name (the examples' order), and the image processor's settings beside a model. Without
 * the image library, so the run-input key (experiments/run-inputs.ts) hashes exactly the files
 * the probe reads.
 */
import { promises as fs } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export async function listImages(dir: string, spec: string): Promise<{ files: string[]; skipped: number }> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new WorkbenchError('NOT_FOUND', `probe ${spec}: ${dir}: no such folder`);
    if (code === 'ENOTDIR') throw new WorkbenchError('BAD_PROBE', `probe ${spec}: ${dir} is not a folder`);
    throw err;
  }
  const names = entries.filter((e) => e.isFile()).map((e) => e.name);
  const files = names
    .filter((name) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return { files, skipped: entries.length - files.length };
}

/** The Hugging Face image processor's settings beside a model (read when it exists: image-defaults.ts). */
export function preprocessorConfigFile(modelPath: string): string {
  return join(dirname(modelPath), 'preprocessor_config.json');
}
