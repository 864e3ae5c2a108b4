/** Reading a model file from disk: bytes, hash and decoded model, with errors that name the file. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, resolve } from 'node:path';
import { WorkbenchError, toWorkbenchError } from '../../common/errors.js';
import type { ModelFileFacts } from './catalogue.js';
import { decodeModel } from './codec.js';
import type { OnnxModel } from './types.js';

/** Protobuf messages cannot exceed 2 GiB; larger models must use external data files. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

export interface LoadedModel {
  facts: ModelFileFacts;
  bytes: Uint8Array;
  model: OnnxModel;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readModelBytes(path: string): Promise<{ facts: ModelFileFacts; bytes: Uint8Array }> {
  const absolute = resolve(path);
  let stat;
  try {
    stat = await fs.stat(absolute);
  } catch (err) {
    const e = toWorkbenchError(err);
    throw new WorkbenchError(e.code, e.code === 'NOT_FOUND' ? `${path}: no such file` : `${path}: ${e.message}`);
  }
  if (stat.isDirectory()) throw new WorkbenchError('BAD_INPUT', `${path}: is a directory, not an ONNX file`);
  if (stat.size > MAX_MODEL_BYTES) {
    throw new WorkbenchError(
      'BAD_MODEL',
      `${path}: ${stat.size} bytes is larger than a protobuf message can be (2 GiB)`,
    );
  }
  const bytes = await fs.readFile(absolute);
  return {
    bytes,
    facts: { path: absolute, fileName: basename(absolute), sizeBytes: bytes.length, sha256: sha256Hex(bytes) },
  };
}

export async function loadModel(path: string): Promise<LoadedModel> {
  const { facts, bytes } = await readModelBytes(path);
  return { facts, bytes, model: decodeModel(bytes, path) };
}
