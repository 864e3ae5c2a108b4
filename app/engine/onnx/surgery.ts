/**
 * Graph surgery: make intermediate tensors come out of onnxruntime by listing them as graph
 * outputs (onnxruntime offers no other way, see ARCHITECTURE.md).
 *
 * We do not re-encode the model. Protobuf merges a repeated occurrence of an embedded message
 * field into the first one, so appending a second `ModelProto.graph` (field 7) that holds only
 * `GraphProto.output` entries (field 12) adds outputs to the original graph while every original
 * byte stays as it was: large initializers are not copied through a decoder, fields newer than our
 * schema survive, and the original outputs keep their place (ours come after them).
 *
 * The added ValueInfoProtos carry a name only: a wrongly typed one fails at session creation, so
 * types and shapes are read back from the session's `outputMetadata` instead.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { WorkbenchError } from '../../common/errors.js';
import type { OnnxGraph } from './types.js';

const MODEL_GRAPH_FIELD = 7;
const GRAPH_OUTPUT_FIELD = 12;
const VALUE_INFO_NAME_FIELD = 1;

/** The bytes to append to a serialized ModelProto so that `names` become extra graph outputs. */
export function extraOutputsPatch(names: readonly string[]): Uint8Array {
  if (names.length === 0) return new Uint8Array(0);
  const graph = new BinaryWriter();
  for (const name of names) {
    const valueInfo = new BinaryWriter().tag(VALUE_INFO_NAME_FIELD, WireType.LengthDelimited).string(name).finish();
    graph.tag(GRAPH_OUTPUT_FIELD, WireType.LengthDelimited).bytes(valueInfo);
  }
  return new BinaryWriter().tag(MODEL_GRAPH_FIELD, WireType.LengthDelimited).bytes(graph.finish()).finish();
}

/** The model bytes with `names` added as graph outputs (a new buffer; the input is untouched). */
export function withExtraOutputs(modelBytes: Uint8Array, names: readonly string[]): Uint8Array {
  const patch = extraOutputsPatch(names);
  const out = new Uint8Array(modelBytes.length + patch.length);
  out.set(modelBytes, 0);
  out.set(patch, modelBytes.length);
  return out;
}

/**
 * The subset of `tensors` that must be added as outputs: everything not already a graph output,
 * without duplicates. Refuses names that are graph inputs or initializers (they are not computed
 * by the graph, so there is nothing to extract) and names no node produces.
 */
export function outputsToAdd(graph: OnnxGraph, tensors: readonly string[], source: string): string[] {
  const produced = new Set<string>();
  for (const node of graph.node) for (const out of node.output) if (out) produced.add(out);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const inputs = new Set(graph.input.map((v) => v.name));
  const existing = new Set(graph.output.map((o) => o.name));
  const added = new Set<string>();
  for (const name of tensors) {
    if (initializers.has(name)) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${source}: '${name}' is an initializer (a stored weight), not a layer output`,
      );
    }
    if (inputs.has(name)) {
      throw new WorkbenchError('BAD_INPUT', `${source}: '${name}' is a graph input, not a layer output`);
    }
    if (!produced.has(name)) {
      throw new WorkbenchError('BAD_INPUT', `${source}: no node of the graph produces a tensor named '${name}'`);
    }
    if (!existing.has(name)) added.add(name);
  }
  return [...added];
}
