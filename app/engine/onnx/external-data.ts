/**
 * Models whose initializers live in side files (`TensorProto.external_data`, `location` relative to
 * the model's folder). We check the files before onnxruntime does: a missing file or a location
 * outside the model's folder gets one clear line instead of ORT's message, and a model cannot use
 * a location to make the runner read an arbitrary file.
 */
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { WorkbenchError } from '../../api/errors.js';
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

/** Throws a typed error naming the model and the file when an external data file is unusable. */
export async function checkExternalData(graph: OnnxGraph, modelPath: string): Promise<void> {
  const folder = dirname(modelPath);
  for (const location of externalDataLocations(graph)) {
    const target = resolve(folder, location);
    const inside = relative(folder, target);
    if (isAbsolute(location) || inside.startsWith('..') || isAbsolute(inside)) {
      throw new WorkbenchError(
        'FORBIDDEN',
        `${modelPath}: its weights are said to be in '${location}', outside the model's folder; refusing to read it`,
      );
    }
    try {
      const stat = await fs.stat(target);
      if (!stat.isFile()) throw new Error('not a file');
    } catch {
      throw new WorkbenchError(
        'NOT_FOUND',
        `${modelPath}: its weights are stored in '${location}' next to it, and that file is missing`,
      );
    }
  }
}
