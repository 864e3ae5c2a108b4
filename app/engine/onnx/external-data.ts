/**
 * Models whose tensors live in side files (`TensorProto.external_data`, `location` relative to the
 * model's folder). We check the files before onnxruntime does: a missing file or a location
 * outside the model's folder gets one clear line instead of ORT's message, and a model cannot use
 * a location to make the runner read an arbitrary file.
 *
 * Every TensorProto of the model can point outside: initializers, sparse initializers, the tensors
 * of node attributes (a Constant's `value` and `sparse_value`, any `t`/`tensors`/`sparse_tensor`
 * attribute), at any depth of subgraphs (If/Loop/Scan bodies, any attribute holding graphs), in
 * model-local functions and training graphs. So the whole message tree is walked, not a list of
 * known places.
 */
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { promises as fs } from 'node:fs';
import { WorkbenchError } from '../../common/errors.js';
import { FILE_SIZE_LIMITS, checkRegularFile } from '../io/regular-file.js';
import type { OnnxGraph, OnnxModel, OnnxTensor } from './types.js';

const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL

function usesExternalData(t: OnnxTensor): boolean {
  return t.dataLocation === EXTERNAL || t.externalData.length > 0;
}

interface Message {
  $typeName?: string;
  name?: string;
  opType?: string;
  [field: string]: unknown;
}

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Array.isArray(value);
}

/** A tensor of the model and where it sits, for messages (`'fc.weight'`, `node 'c1' (Constant), attribute 'value'`). */
export interface LocatedTensor {
  tensor: OnnxTensor;
  where: string;
}

function label(message: Message, parent: string): string {
  switch (message.$typeName) {
    case 'onnx.NodeProto':
      return `node '${message.name || message.opType}' (${message.opType})${parent ? ` in ${parent}` : ''}`;
    case 'onnx.AttributeProto':
      return `${parent}, attribute '${message.name}'`;
    case 'onnx.GraphProto':
      return parent ? `the graph '${message.name}' of ${parent}` : '';
    case 'onnx.FunctionProto':
      return `function '${message.name}'`;
    default:
      return parent;
  }
}

/** Every TensorProto anywhere in the model (or graph), with where it is. */
export function allTensors(root: OnnxModel | OnnxGraph): LocatedTensor[] {
  const found: LocatedTensor[] = [];
  const stack: { message: Message; where: string }[] = [{ message: root as unknown as Message, where: '' }];
  while (stack.length > 0) {
    const { message, where } = stack.pop()!;
    if (message.$typeName === 'onnx.TensorProto') {
      const tensor = message as unknown as OnnxTensor;
      found.push({ tensor, where: tensor.name ? `'${tensor.name}'` : where || 'a tensor' });
    }
    const here = label(message, where);
    for (const [field, value] of Object.entries(message)) {
      if (field === '$unknown') continue;
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) if (isMessage(item)) stack.push({ message: item, where: here });
    }
  }
  return found;
}

/** Whether any tensor of the model is stored outside its file. */
export function usesExternalDataAnywhere(root: OnnxModel | OnnxGraph): boolean {
  return allTensors(root).some((t) => usesExternalData(t.tensor));
}

function locationOf(t: OnnxTensor): string | undefined {
  return t.externalData.find((e) => e.key === 'location')?.value;
}

/** The distinct `location`s of the tensors stored outside the model file. */
export function externalDataLocations(root: OnnxModel | OnnxGraph): string[] {
  const locations = new Set<string>();
  for (const { tensor } of allTensors(root)) {
    if (!usesExternalData(tensor)) continue;
    const location = locationOf(tensor);
    if (location !== undefined) locations.add(location);
  }
  return [...locations];
}

/** The non-negative integer in an external_data entry (`offset`, `length`), null when absent. */
function byteCount(t: LocatedTensor, key: string, modelPath: string): number | null {
  const text = t.tensor.externalData.find((e) => e.key === key)?.value;
  if (text === undefined) return null;
  const value = /^\d{1,15}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new WorkbenchError(
      'BAD_MODEL',
      `${modelPath}: the weights of ${t.where} are said to be at ${key} ${text.slice(0, 40)}, which is not a byte count`,
    );
  }
  return value;
}

/** The file at `location` after the checks (inside the folder, a regular file, no link out). */
async function checkLocation(
  location: string,
  modelPath: string,
  folder: string,
  realFolder: string,
): Promise<{ realPath: string; size: number }> {
  const target = resolve(folder, location);
  const inside = relative(folder, target);
  if (isAbsolute(location) || inside.startsWith('..') || isAbsolute(inside)) {
    throw new WorkbenchError(
      'FORBIDDEN',
      `${modelPath}: its weights are said to be in '${location}', outside the model's folder; refusing to read it`,
    );
  }
  let file: { realPath: string; size: number };
  try {
    file = await checkRegularFile(target, { what: 'external data', maxBytes: FILE_SIZE_LIMITS.externalData });
  } catch (err) {
    if (err instanceof WorkbenchError && err.code !== 'NOT_FOUND') {
      throw new WorkbenchError(err.code, `${modelPath}: its weights file '${location}': ${err.message}`);
    }
    throw new WorkbenchError(
      'NOT_FOUND',
      `${modelPath}: its weights are stored in '${location}' next to it, and that file is missing`,
    );
  }
  const realInside = relative(realFolder, file.realPath);
  if (realInside.startsWith('..') || isAbsolute(realInside)) {
    throw new WorkbenchError(
      'FORBIDDEN',
      `${modelPath}: its weights file '${location}' is a link to a file outside the model's folder; refusing to read it`,
    );
  }
  return file;
}

/** A side file of the model that passed the checks, and where it really is. */
export interface CheckedSideFile {
  /** As the model names it. */
  location: string;
  /** Its real path (links resolved). */
  path: string;
}

/**
 * Throws a typed error naming the model and the file when an external data file is unusable: a
 * location outside the model's folder (also through a symbolic link), a missing file, a file that
 * is not a regular file (a FIFO, a device), or a byte range past the file's end. onnxruntime
 * refuses most of those too, but only once the runner has them, and in words about its own
 * source files. Returns the side files, one per location (none for a model without).
 */
export async function checkExternalData(root: OnnxModel | OnnxGraph, modelPath: string): Promise<CheckedSideFile[]> {
  const external = allTensors(root).filter((t) => usesExternalData(t.tensor));
  const locations = new Set(external.flatMap((t) => locationOf(t.tensor) ?? []));
  const files = await checkLocations([...locations], modelPath);
  for (const t of external) {
    const location = locationOf(t.tensor);
    const size = location === undefined ? undefined : files.get(location)?.size;
    if (size === undefined) continue;
    const offset = byteCount(t, 'offset', modelPath) ?? 0;
    const length = byteCount(t, 'length', modelPath);
    if (offset > size || (length !== null && offset + length > size)) {
      throw new WorkbenchError(
        'BAD_MODEL',
        `${modelPath}: the weights of ${t.where} are said to be at bytes ${offset}–${length === null ? 'end' : offset + length} ` +
          `of '${location}', which has ${size} bytes`,
      );
    }
  }
  return [...files].map(([location, file]) => ({ location, path: file.realPath }));
}

/** Side files named by `locations` (as a model writes them), through the same checks as checkExternalData's. */
export async function checkSideFiles(locations: readonly string[], modelPath: string): Promise<CheckedSideFile[]> {
  const files = await checkLocations(locations, modelPath);
  return [...files].map(([location, file]) => ({ location, path: file.realPath }));
}

async function checkLocations(
  locations: readonly string[],
  modelPath: string,
): Promise<Map<string, { realPath: string; size: number }>> {
  const files = new Map<string, { realPath: string; size: number }>();
  if (locations.length === 0) return files; // most models: no folder to resolve
  const folder = dirname(modelPath);
  const realFolder = await fs.realpath(folder).catch(() => resolve(folder));
  for (const location of locations) files.set(location, await checkLocation(location, modelPath, folder, realFolder));
  return files;
}
