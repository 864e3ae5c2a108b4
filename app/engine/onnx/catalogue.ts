/**
 * What a model is: its inputs, outputs, opsets, parameter count and the catalogue of layers that
 * can be compared (every float node output that depends on a graph input, in topological order).
 *
 * Element types come from the file (inputs, outputs, value_info, initializers) and, where the file
 * is silent, from the producing node (static rules below). Shapes come from the file only, unless
 * the caller passes types resolved by onnxruntime (`resolved`, from a session that exposes every
 * candidate tensor, see runner/model-runner.ts): those win, and then tensors that cannot be split
 * per example (scalars from shape arithmetic, sequence-first tensors) are left out of the layers.
 */
import type { Dim, LayerInfo, ModelSummary, OpsetInfo, TensorInfo } from '../../common/contract.js';
import { ONNX_BOOL, ONNX_FLOAT32, ONNX_INT64, isFloatDType, onnxDTypeName } from './dtypes.js';
import { usesExternalDataAnywhere } from './external-data.js';
import { shortLayerNames, uniqueNames } from './layer-names.js';
import { topologicalOrder, type OrderedNode } from './topology.js';
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './types.js';

export interface TensorType {
  dtype: string;
  shape: Dim[] | null;
}

function valueInfoType(v: OnnxValueInfo): TensorType | null {
  const t = v.type?.value;
  if (!t || t.case !== 'tensorType') return null;
  const shape = t.value.shape
    ? t.value.shape.dim.map((d): Dim => {
        if (d.value.case === 'dimValue') return Number(d.value.value);
        if (d.value.case === 'dimParam') return d.value.value;
        return null;
      })
    : null;
  return { dtype: onnxDTypeName(t.value.elemType), shape };
}

function tensorType(t: OnnxTensor): TensorType {
  return { dtype: onnxDTypeName(t.dataType), shape: t.dims.map(Number) };
}

/** Types the file itself declares, by tensor name. */
export function declaredTypes(graph: OnnxGraph): Map<string, TensorType> {
  const types = new Map<string, TensorType>();
  for (const t of graph.initializer) types.set(t.name, tensorType(t));
  for (const list of [graph.valueInfo, graph.input, graph.output]) {
    for (const v of list) {
      const t = valueInfoType(v);
      if (t && t.dtype !== 'unknown') types.set(v.name, t);
    }
  }
  return types;
}

function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute.find((a) => a.name === name);
}

const INT64_OUTPUT_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'NonMaxSuppression']);
const BOOL_OUTPUT_OPS = new Set([
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
]);

/** Element type of output `k` of `node`, from the op's definition, given its inputs' types. */
function inferOutputDType(node: OnnxNode, k: number, dtypeOf: (name: string) => string): string {
  const op = node.opType;
  const firstInput = () => {
    for (const input of node.input) {
      const d = input ? dtypeOf(input) : 'unknown';
      if (d !== 'unknown') return d;
    }
    return 'unknown';
  };
  if (node.domain && node.domain !== 'ai.onnx') return 'unknown';
  if (INT64_OUTPUT_OPS.has(op)) return onnxDTypeName(ONNX_INT64);
  if (BOOL_OUTPUT_OPS.has(op)) return onnxDTypeName(ONNX_BOOL);
  switch (op) {
    case 'Cast':
      return onnxDTypeName(Number(attribute(node, 'to')?.i ?? 0));
    case 'CastLike':
      return dtypeOf(node.input[1] ?? '');
    case 'Constant': {
      const a = node.attribute[0];
      if (!a) return 'unknown';
      if (a.name === 'value' && a.t) return onnxDTypeName(a.t.dataType);
      if (a.name === 'value_float' || a.name === 'value_floats') return onnxDTypeName(ONNX_FLOAT32);
      if (a.name === 'value_int' || a.name === 'value_ints') return onnxDTypeName(ONNX_INT64);
      return 'unknown';
    }
    case 'ConstantOfShape': {
      const value = attribute(node, 'value')?.t;
      return onnxDTypeName(value ? value.dataType : ONNX_FLOAT32);
    }
    case 'EyeLike':
    case 'RandomNormalLike':
    case 'RandomUniformLike': {
      const dtype = attribute(node, 'dtype');
      return dtype ? onnxDTypeName(Number(dtype.i)) : firstInput();
    }
    case 'RandomNormal':
    case 'RandomUniform':
      return onnxDTypeName(Number(attribute(node, 'dtype')?.i ?? ONNX_FLOAT32));
    case 'TopK':
      return k === 1 ? onnxDTypeName(ONNX_INT64) : firstInput();
    case 'Dropout':
      return k === 1 ? onnxDTypeName(ONNX_BOOL) : firstInput();
    case 'Where':
      return dtypeOf(node.input[1] ?? '');
    case 'DequantizeLinear':
      return dtypeOf(node.input[1] ?? '');
    case 'QuantizeLinear':
      return node.input[2] ? dtypeOf(node.input[2]) : 'uint8';
    case 'DynamicQuantizeLinear':
      return k === 0 || k === 2 ? 'uint8' : onnxDTypeName(ONNX_FLOAT32);
    case 'MatMulInteger':
    case 'ConvInteger':
      return 'int32';
    case 'If':
    case 'Loop':
    case 'Scan':
      return 'unknown';
    default:
      return firstInput();
  }
}

export interface TensorCatalogue {
  order: OrderedNode[];
  types: Map<string, TensorType>;
  /** Tensors whose value depends on a graph input (not constants). */
  inputDependent: Set<string>;
  initializerNames: Set<string>;
}

/** Orders the graph and works out each tensor's type and whether it depends on the input. */
export function catalogueTensors(graph: OnnxGraph, source: string): TensorCatalogue {
  const order = topologicalOrder(graph, source);
  const types = declaredTypes(graph);
  const initializerNames = new Set(graph.initializer.map((t) => t.name));
  const inputDependent = new Set(graph.input.filter((v) => !initializerNames.has(v.name)).map((v) => v.name));
  const dtypeOf = (name: string) => types.get(name)?.dtype ?? 'unknown';
  for (const { node } of order) {
    const dependent = node.input.some((i) => inputDependent.has(i));
    node.output.forEach((out, k) => {
      if (!out) return;
      if (dependent) inputDependent.add(out);
      if (!types.has(out)) {
        const dtype = inferOutputDType(node, k, dtypeOf);
        if (dtype !== 'unknown') types.set(out, { dtype, shape: null });
      }
    });
  }
  return { order, types, inputDependent, initializerNames };
}

/**
 * Input-dependent node outputs whose element type is float or not known statically: what a
 * session is asked to expose so that onnxruntime reports their types and shapes.
 */
export function typeResolutionCandidates(graph: OnnxGraph, catalogue: TensorCatalogue): string[] {
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const names: string[] = [];
  for (const { node } of catalogue.order) {
    for (const tensor of node.output) {
      if (!tensor || graphOutputs.has(tensor) || !catalogue.inputDependent.has(tensor)) continue;
      const dtype = catalogue.types.get(tensor)?.dtype;
      if (dtype === undefined || isFloatDType(dtype)) names.push(tensor);
    }
  }
  return names;
}

/**
 * Whether a tensor of `shape` holds one row per example, judged against the batch dimension of the
 * model input: same symbol or same size → yes; a fixed size where the input's batch is symbolic or
 * another size → no; unknown → assumed yes (the extractor checks real batches). onnxruntime
 * reports an unknown rank as `[]`, the same as a scalar's, so `[]` counts as unknown too.
 */
export function splitsPerExample(shape: Dim[] | null, batchDim: Dim | undefined): boolean {
  if (shape === null || batchDim === undefined) return true;
  if (shape.length === 0) return true;
  const first = shape[0]!;
  if (first === null || batchDim === null) return true;
  if (typeof first === 'number') return first === batchDim;
  return true; // symbolic: the batch's own symbol, or one onnxruntime made up; sizes are checked per batch
}

/** Types from onnxruntime override the file's; a resolved shape of null keeps the file's shape. */
export function mergeResolvedTypes(types: Map<string, TensorType>, resolved: ReadonlyMap<string, TensorType>): void {
  for (const [name, type] of resolved) {
    const known = types.get(name);
    types.set(name, { dtype: type.dtype, shape: type.shape ?? known?.shape ?? null });
  }
}

/**
 * Every float, input-dependent node output of the top-level graph, in topological order. With
 * `batchDim` (given once shapes are resolved) tensors whose first axis is visibly not the examples
 * are marked (`split: 'none'`), not left out: selecting them gets them listed as omitted.
 */
export function layerCatalogue(graph: OnnxGraph, catalogue: TensorCatalogue, batchDim?: Dim): LayerInfo[] {
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const rows: Omit<LayerInfo, 'name'>[] = [];
  const named: { name: string; op: string; tensor: string; output: number }[] = [];
  catalogue.order.forEach(({ node, fileIndex }, index) => {
    node.output.forEach((tensor, k) => {
      if (!tensor || !catalogue.inputDependent.has(tensor)) return;
      const type = catalogue.types.get(tensor);
      if (!type || !isFloatDType(type.dtype)) return;
      const nodeName = node.name || `${node.opType}_${fileIndex}`;
      rows.push({
        tensor,
        node: nodeName,
        op: node.opType,
        dtype: type.dtype,
        shape: type.shape,
        index,
        isGraphOutput: graphOutputs.has(tensor),
        ...(splitsPerExample(type.shape, batchDim)
          ? {}
          : {
              split: 'none' as const,
              splitReason: `its first axis is ${String(type.shape![0])}, not the examples (${batchDim === null ? '?' : String(batchDim)})`,
            }),
      });
      named.push({ name: node.name, op: node.opType, tensor, output: node.output.length > 1 ? k : 0 });
    });
  });
  const bases = shortLayerNames(named);
  const names = uniqueNames(bases.map((base, i) => (named[i]!.output > 0 ? `${base}:${named[i]!.output}` : base)));
  return rows.map((row, i) => ({ ...row, name: names[i]! }));
}

function elementCount(dims: bigint[]): number {
  return dims.reduce((a, b) => a * Number(b), 1);
}

/** Learnable parameters: elements of float initializers and of float Constant-node tensors. */
export function countParameters(graph: OnnxGraph): number {
  let total = 0;
  for (const t of graph.initializer) if (isFloatDType(onnxDTypeName(t.dataType))) total += elementCount(t.dims);
  for (const s of graph.sparseInitializer) {
    if (s.values && isFloatDType(onnxDTypeName(s.values.dataType))) total += elementCount(s.values.dims);
  }
  for (const node of graph.node) {
    if (node.opType !== 'Constant') continue;
    const t = attribute(node, 'value')?.t;
    if (t && isFloatDType(onnxDTypeName(t.dataType))) total += elementCount(t.dims);
  }
  return total;
}

/**
 * Op names in alphabetical order, case ignored first (as localeCompare orders them, without
 * loading the ICU collator: ~20 ms of a command that should start at once).
 */
function byName(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  if (x !== y) return x < y ? -1 : 1;
  return a === b ? 0 : a < b ? 1 : -1;
}

export interface ModelFileFacts {
  path: string;
  fileName: string;
  sizeBytes: number;
  /** The model's sha256: its file's, or over the file and its side files (./model-digest.ts). */
  sha256: string;
  /** The sha256 of the model file alone. */
  fileSha256: string;
}

/**
 * The model's summary. `resolved` holds types and shapes onnxruntime reported (inputs, outputs and
 * intermediate tensors); without it, shapes are what the file declares.
 */
export function summarizeModel(
  model: OnnxModel,
  file: ModelFileFacts,
  resolved?: ReadonlyMap<string, TensorType>,
): ModelSummary {
  const graph = model.graph!;
  const catalogue = catalogueTensors(graph, file.path);
  if (resolved) mergeResolvedTypes(catalogue.types, resolved);
  const firstInput = graph.input.find((v) => !catalogue.initializerNames.has(v.name));
  const batchDim = resolved && firstInput ? (catalogue.types.get(firstInput.name)?.shape?.[0] ?? undefined) : undefined;
  const typeOf = (v: OnnxValueInfo): TensorInfo => {
    const t = catalogue.types.get(v.name);
    return { name: v.name, dtype: t?.dtype ?? 'unknown', shape: t?.shape ?? null };
  };
  const opsets: OpsetInfo[] = model.opsetImport.map((o) => ({
    domain: o.domain || 'ai.onnx',
    version: Number(o.version),
  }));
  const opCounts = new Map<string, number>();
  for (const node of graph.node) opCounts.set(node.opType, (opCounts.get(node.opType) ?? 0) + 1);
  return {
    ...file,
    irVersion: Number(model.irVersion),
    opsets,
    opset: opsets.find((o) => o.domain === 'ai.onnx')?.version ?? null,
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    graphName: graph.name ?? '',
    inputs: graph.input.filter((v) => !catalogue.initializerNames.has(v.name)).map(typeOf),
    outputs: graph.output.map(typeOf),
    parameters: countParameters(graph),
    nodeCount: graph.node.length,
    opCounts: [...opCounts.entries()]
      .map(([op, count]) => ({ op, count }))
      .sort((a, b) => b.count - a.count || byName(a.op, b.op)),
    usesExternalData: usesExternalDataAnywhere(model),
    layers: layerCatalogue(graph, catalogue, batchDim),
  };
}
