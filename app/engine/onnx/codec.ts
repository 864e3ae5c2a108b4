/**
 * Decode and encode ONNX models with the schema in ./schema.ts. Decoding errors become typed
 * BAD_MODEL errors that name the file and the problem in one line.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { WorkbenchError } from '../../common/errors.js';
import { ModelProtoDesc } from './schema.js';
import type { OnnxModel } from './types.js';

/** Decodes ONNX bytes. `source` names the file in error messages. */
export function decodeModel(bytes: Uint8Array, source: string): OnnxModel {
  if (bytes.length === 0) throw new WorkbenchError('BAD_MODEL', `${source}: not an ONNX model (the file is empty)`);
  let model: OnnxModel;
  try {
    model = fromBinary(ModelProtoDesc, bytes) as unknown as OnnxModel;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new WorkbenchError('BAD_MODEL', `${source}: not a valid ONNX model (protobuf decoding failed: ${reason})`);
  }
  if (!model.graph) {
    throw new WorkbenchError('BAD_MODEL', `${source}: not a valid ONNX model (it has no graph)`);
  }
  if (model.graph.node.length === 0 && model.graph.output.length === 0) {
    throw new WorkbenchError('BAD_MODEL', `${source}: not a valid ONNX model (the graph has no nodes and no outputs)`);
  }
  if (!model.irVersion || model.irVersion <= 0n) {
    throw new WorkbenchError('BAD_MODEL', `${source}: not a valid ONNX model (missing ir_version)`);
  }
  return model;
}

/** Encodes a model; fields unknown to our schema are written back as they were read. */
export function encodeModel(model: OnnxModel): Uint8Array {
  return toBinary(ModelProtoDesc, model as never);
}
