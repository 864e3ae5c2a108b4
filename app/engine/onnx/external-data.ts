/**
 * Models whose initializers live in side files (`TensorProto.external_data`, `location` relative to
 * the model's folder). We check the files before onnxruntime does: a missing file or a location
 * outside the model's folder gets one clear line instead of ORT's message, and a model cannot use
 * a location to make the runner read an arbitrary file.
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import type { OnnxGraph, OnnxTensor } from './types.js';

const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL

function usesExternalData(t: OnnxTensor): boolean {
  return t.dataLocation === EXTERNAL || t.externalData.length > 0;
}

/** The distinct `location`s of a graph's external initializers. */
export function externalDataLocations(graph: OnnxGraph): string[] {
  const locations = new Set<string>();
  for (const t of graph.initializer) {
    if (!usesExternalData(t)) continue;
    const location = t.externalData.find((e) => e.key === 'location')?.value;
    if (location !== undefined) locations.add(location);
  }
  return [...locations];
}

/** The non-negative integer in an external_data entry (`offset`, `length`), null when absent. */
function byteCount(t: OnnxTensor, key: string, modelPath: string): number | null {
  const text = t.externalData.find((e) => e.key === key)?.value;
  if (text === undefined) return null;
  const value = /^\d{1,15}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new WorkbenchError(
      'BAD_MODEL',
      `${modelPath}: the weights of '${t.name}' are said to be at ${key} ${text.slice(0, 40)}, which is not a byte count`,
    );
  }
  return value;
}

/**
 * Throws a typed error naming the model and the file when an external data file is unusable: a
 * location outside the model's folder (also through a symbolic link), a missing file, or a byte
 * range past the file's end. onnxruntime refuses those too, but only once the runner has them, and
 * in words about its own source files.
 */
export async function checkExternalData(graph: OnnxGraph, modelPath: string): Promise<void> {
  const folder = dirname(modelPath);
  const realFolder = await fs.realpath(folder).catch(() => resolve(folder));
  const sizes = new Map<string, number>();
  for (const location of externalDataLocations(graph)) {
    const target = resolve(folder, location);
    const inside = relative(folder, target);
    if (isAbsolute(location) || inside.startsWith('..') || isAbsolute(inside)) {
      throw new WorkbenchError(
        'FORBIDDEN',
        `${modelPath}: its weights are said to be in '${location}', outside the model's folder; refusing to read it`,
      );
    }
    let real: string;
    try {
      real = await fs.realpath(target);
      const stat = await fs.stat(real);
      if (!stat.isFile()) throw new Error('not a file');
      sizes.set(location, stat.size);
    } catch {
      throw new WorkbenchError(
        'NOT_FOUND',
        `${modelPath}: its weights are stored in '${location}' next to it, and that file is missing`,
      );
    }
    const realInside = relative(realFolder, real);
    if (realInside.startsWith('..') || isAbsolute(realInside)) {
      throw new WorkbenchError(
        'FORBIDDEN',
        `${modelPath}: its weights file '${location}' is a link to a file outside the model's folder; refusing to read it`,
      );
    }
  }
  for (const t of graph.initializer) {
    if (!usesExternalData(t)) continue;
    const location = t.externalData.find((e) => e.key === 'location')?.value;
    const size = location === undefined ? undefined : sizes.get(location);
    if (size === undefined) continue;
    const offset = byteCount(t, 'offset', modelPath) ?? 0;
    const length = byteCount(t, 'length', modelPath);
    if (offset > size || (length !== null && offset + length > size)) {
      throw new WorkbenchError(
        'BAD_MODEL',
        `${modelPath}: the weights of '${t.name}' are said to be at bytes ${offset}–${length === null ? 'end' : offset + length} ` +
          `of '${location}', which has ${size} bytes`,
      );
    }
  }
}
