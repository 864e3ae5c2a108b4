/**
 * A model's structure without its weights: what the engine's own thread works with. Reading a
 * model (read, hash, decode) is O(file size) and runs in the model reader's thread
 * (./model-reader.ts); what it hands back is the same ModelProto with every tensor's values and
 * every large byte string dropped (small integer tensors — shapes, axes — keep theirs), encoded again — kilobytes for a model of gigabytes. Nothing in
 * the engine reads weights (onnxruntime does, in the runner process, from the file itself), so the
 * graph, names, types, shapes, attributes and external-data entries are all there is to keep.
 *
 * A structure is never written to disk or run: it is not the model.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import { FILE_SIZE_LIMITS, openRegularFile, readOpenedFile } from '../io/regular-file.js';
import type { ModelFileFacts } from './catalogue.js';
import { decodeModel } from './codec.js';
import { ModelProtoDesc } from './schema.js';
import type { OnnxModel } from './types.js';

/** Byte strings (string attributes, unknown fields) up to this size are kept; tensor values never are. */
const KEPT_BYTES = 4096;

const TENSOR_VALUES = ['rawData', 'floatData', 'int32Data', 'stringData', 'int64Data', 'doubleData', 'uint64Data'];

interface Message {
  $typeName?: string;
  $unknown?: { data: Uint8Array }[];
  [field: string]: unknown;
}

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !Array.isArray(value);
}

/** Integer tensors of at most this many elements keep their values: shapes, axes, indices. */
const KEPT_INTEGER_ELEMENTS = 64;

/** An int64/int32 tensor of a few elements: the shape arithmetic shape inference reads (onnx/shape-inference.ts). */
function isSmallIntegerTensor(message: Message): boolean {
  const dataType = message.dataType;
  const dims = message.dims as bigint[] | undefined;
  if ((dataType !== 7 && dataType !== 6) || !dims) return false;
  return dims.reduce((a, d) => a * Number(d), 1) <= KEPT_INTEGER_ELEMENTS;
}

/**
 * Drops tensor values (but those of small integer tensors) and large byte strings in place,
 * everywhere in the message tree.
 */
export function dropWeights(root: OnnxModel): void {
  const stack: Message[] = [root as unknown as Message];
  while (stack.length > 0) {
    const message = stack.pop()!;
    if (message.$typeName === 'onnx.TensorProto' && !isSmallIntegerTensor(message)) {
      for (const field of TENSOR_VALUES) {
        const value = message[field];
        if (Array.isArray(value)) message[field] = [];
        else if (value instanceof Uint8Array && value.length > 0) message[field] = new Uint8Array(0);
      }
    }
    if (message.$unknown) message.$unknown = message.$unknown.filter((u) => u.data.length <= KEPT_BYTES);
    for (const [field, value] of Object.entries(message)) {
      if (field === '$unknown') continue;
      if (value instanceof Uint8Array) {
        if (value.length > KEPT_BYTES) message[field] = new Uint8Array(0);
      } else if (Array.isArray(value)) {
        if (value.length > 0 && value[0] instanceof Uint8Array) {
          message[field] = (value as Uint8Array[]).map((v) => (v.length > KEPT_BYTES ? new Uint8Array(0) : v));
        } else {
          for (const item of value) if (isMessage(item)) stack.push(item);
        }
      } else if (isMessage(value)) {
        stack.push(value);
      }
    }
  }
}

export interface ReadStructure {
  facts: ModelFileFacts;
  /** The ModelProto without weights, encoded (decode it with codec.ts decodeModel). */
  structure: Uint8Array;
}

/**
 * Reads a model file (a regular file of at most 2 GiB, see io/regular-file.ts), hashing it as it is
 * read, and decodes it (typed BAD_MODEL errors naming `path`); the model comes without weights.
 */
export async function readModelFile(path: string): Promise<{ facts: ModelFileFacts; model: OnnxModel }> {
  const file = await openRegularFile(path, { what: 'model', maxBytes: FILE_SIZE_LIMITS.model });
  let bytes: Uint8Array;
  const hash = createHash('sha256');
  try {
    bytes = await readOpenedFile(file, (chunk) => hash.update(chunk));
  } finally {
    await file.close();
  }
  const sha256 = hash.digest('hex');
  // The file's own digest; model-file.ts makes `sha256` cover side files when the model has some.
  const facts: ModelFileFacts = {
    path: file.path,
    fileName: basename(file.path),
    sizeBytes: bytes.length,
    sha256,
    fileSha256: sha256,
  };
  const model = decodeModel(bytes, path);
  dropWeights(model);
  return { facts, model };
}

/**
 * {@link readModelFile}, with the structure encoded again: a fresh buffer of kilobytes that holds no
 * reference to the file's bytes, to hand to another thread. O(file size): the model reader runs it.
 */
export async function readModelStructure(path: string): Promise<ReadStructure> {
  const { facts, model } = await readModelFile(path);
  return { facts, structure: toBinary(ModelProtoDesc, model as never) };
}
