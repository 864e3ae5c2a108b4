/**
 * What a model is, for the library and `inspect`: the file's summary (inputs, outputs, opsets,
 * parameters, layer catalogue) with the types and shapes of its tensors — worked out from the file
 * when its ops are common ones (onnx/shape-inference.ts), otherwise as onnxruntime infers them,
 * read in a runner process. The file alone is enough when no runner is given.
 */
import type { ModelSummary } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { catalogueTensors, summarizeModel, typeResolutionCandidates, type TensorType } from '../onnx/catalogue.js';
import { loadModel } from '../onnx/model-file.js';
import { answersFor, inferShapes } from '../onnx/shape-inference.js';
import type { OnnxModel } from '../onnx/types.js';
import { defaultModelRunner } from './default-runner.js';
import type { ModelRunner } from './model-runner.js';
import { resolveModelTypes } from './model-types.js';

export interface InspectOptions {
  /**
   * Where onnxruntime resolves types and shapes (in a runner process): default the process-wide
   * runner; `null` reads the file only (intermediate shapes then stay unknown for most exports).
   */
  runner?: ModelRunner | null;
  signal?: AbortSignal;
}

/**
 * What a model is. Shapes of intermediate tensors come from onnxruntime; when it refuses the
 * model (or `runner` is null) the layers are reported with the shapes the file declares.
 */
export async function inspectModelFile(path: string, options: InspectOptions = {}): Promise<ModelSummary> {
  const loaded = await loadModel(path);
  const { facts, model } = loaded;
  const runner = options.runner === undefined ? defaultModelRunner() : options.runner;
  let resolved: Map<string, TensorType> | null = runner ? typesFromFile(model, facts.path) : null;
  if (!resolved && runner && !(loaded.sideFiles instanceof WorkbenchError)) {
    resolved = (await resolveModelTypes(runner, loaded, options.signal))?.types ?? null;
  }
  return summarizeModel(model, { ...facts, path: facts.path }, resolved ?? undefined);
}

/**
 * Types and shapes of the graph's inputs, outputs and every tensor onnxruntime would be asked
 * about, from the file alone; null when the shape rules cannot answer for all of them.
 */
export function typesFromFile(model: OnnxModel, source: string): Map<string, TensorType> | null {
  const graph = model.graph;
  if (!graph) return null;
  const catalogue = catalogueTensors(graph, source);
  const opset = Number(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  const types = inferShapes(graph, catalogue.order, catalogue.types, opset);
  const inputs = graph.input.filter((v) => !catalogue.initializerNames.has(v.name)).map((v) => v.name);
  const asked = [...inputs, ...graph.output.map((o) => o.name), ...typeResolutionCandidates(graph, catalogue)];
  return answersFor(types, asked) ? new Map(asked.map((name) => [name, types.get(name)!])) : null;
}
