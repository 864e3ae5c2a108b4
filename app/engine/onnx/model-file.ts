/**
 * Reading a model file: its facts (path, size, sha256) and its decoded structure, with errors that
 * name the file. For a model that keeps tensors in side files (external data), `sha256` covers
 * them (./model-digest.ts). Files from READ_IN_THREAD_BYTES on are read, hashed and decoded in
 * the model reader's thread (./model-reader.ts), and this thread decodes only the structure
 * without weights it hands back. Smaller ones are read here: a few milliseconds of work, less
 * than starting the thread would cost (about 50 ms in a build, over a second under tsx in a
 * checkout).
 */
import { WorkbenchError, toWorkbenchError } from '../../common/errors.js';
import { FILE_SIZE_LIMITS, checkRegularFile } from '../io/regular-file.js';
import type { ModelFileFacts } from './catalogue.js';
import { decodeModel } from './codec.js';
import { checkExternalData, type CheckedSideFile } from './external-data.js';
import { readModelInWorker } from './model-reader.js';
import { readModelFile } from './model-structure.js';
import type { OnnxModel } from './types.js';

/** Models of at least this many bytes are read off the engine's thread. */
export const READ_IN_THREAD_BYTES = 8 * 2 ** 20;

export interface LoadedModel {
  facts: ModelFileFacts;
  /**
   * The model's structure: graph, names, types, shapes, attributes, external-data entries. Tensor
   * values and large byte strings are left out (./model-structure.ts): never encode it back to a file.
   */
  model: OnnxModel;
  /**
   * The side files (external data) the model names, checked once here (./external-data.ts): none
   * for most models. Or what refused one (missing, outside the model's folder, unreadable…): the
   * model can then be inspected but not run (usableSideFiles).
   */
  sideFiles: CheckedSideFile[] | WorkbenchError;
}

export async function loadModel(path: string): Promise<LoadedModel> {
  // A FIFO, a device, a folder or a file too large is refused here, before any thread is involved.
  const { size } = await checkRegularFile(path, { what: 'model', maxBytes: FILE_SIZE_LIMITS.model });
  if (size < READ_IN_THREAD_BYTES) return withSideFiles(await readModelFile(path));
  const { facts, structure } = await readModelInWorker(path);
  return withSideFiles({ facts, model: decodeModel(structure, path) });
}

/**
 * The model's side files, checked, and its sha256 over them too when it has some. While one is
 * refused, `sha256` stays the file's: the model is not run then (usableSideFiles).
 */
async function withSideFiles({ facts, model }: Omit<LoadedModel, 'sideFiles'>): Promise<LoadedModel> {
  try {
    const sideFiles = await checkExternalData(model, facts.path);
    if (sideFiles.length === 0) return { facts, model, sideFiles };
    // Imported here: most models have no side files, and `inspect` loads as little as it can.
    const { modelDigest, sideFileDigests } = await import('./model-digest.js');
    const sha256 = modelDigest(facts.fileSha256, await sideFileDigests(sideFiles));
    return { facts: { ...facts, sha256 }, model, sideFiles };
  } catch (err) {
    return { facts, model, sideFiles: toWorkbenchError(err) };
  }
}

/** The model's side files, or the error that refused one: what runs a model calls this first. */
export function usableSideFiles(loaded: LoadedModel): CheckedSideFile[] {
  if (loaded.sideFiles instanceof WorkbenchError) throw loaded.sideFiles;
  return loaded.sideFiles;
}
