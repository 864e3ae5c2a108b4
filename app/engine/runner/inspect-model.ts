/**
 * What a model is, for the library and `inspect`: the file's summary (inputs, outputs, opsets,
 * parameters, layer catalogue) with the types and shapes onnxruntime infers, read in a runner
 * process. The file alone is enough when no runner is given.
 */
import type { ModelSummary } from '../../common/contract.js';
import { summarizeModel } from '../onnx/catalogue.js';
import { checkExternalData } from '../onnx/external-data.js';
import { loadModel } from '../onnx/model-file.js';
import type { OnnxModel } from '../onnx/types.js';
import { defaultModelRunner } from './default-runner.js';
import type { ModelRunner } from './model-runner.js';
import { resolveModelTypes, type ResolvedTypes } from './model-types.js';

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
  let resolved: ResolvedTypes | null = null;
  if (runner && (await externalDataUsable(model, facts.path))) {
    resolved = await resolveModelTypes(runner, loaded, options.signal);
  }
  return summarizeModel(model, { ...facts, path: facts.path }, resolved?.types);
}

async function externalDataUsable(model: OnnxModel, path: string): Promise<boolean> {
  try {
    await checkExternalData(model, path);
    return true;
  } catch {
    return false;
  }
}
