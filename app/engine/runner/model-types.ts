/**
 * Types and shapes of a model's tensors as onnxruntime infers them. PyTorch exports carry no
 * value_info, so the file alone gives no intermediate shapes: we open a session (in the runner
 * process) that exposes every candidate tensor as an output and read `outputMetadata`.
 *
 * If onnxruntime refuses the rewritten model we try the untouched one (for input and output
 * types at least); if it refuses that too, the answer is null and callers fall back to what the
 * file says.
 */
import { catalogueTensors, typeResolutionCandidates, type TensorType } from '../onnx/catalogue.js';
import type { ModelFileFacts } from '../onnx/catalogue.js';
import type { OnnxModel } from '../onnx/types.js';
import type { ModelRunner } from './model-runner.js';
import type { ValueMeta } from './protocol.js';

export interface ResolvedTypes {
  types: Map<string, TensorType>;
  /** False when only the graph's own inputs and outputs could be resolved. */
  intermediates: boolean;
}

export function metaToTypes(
  metas: readonly ValueMeta[],
  into = new Map<string, TensorType>(),
): Map<string, TensorType> {
  for (const meta of metas) {
    if (!meta.isTensor || !meta.type) continue;
    // onnxruntime reports an unknown rank as [], like a scalar's: call it unknown.
    into.set(meta.name, { dtype: meta.type, shape: meta.shape && meta.shape.length > 0 ? [...meta.shape] : null });
  }
  return into;
}

export async function resolveModelTypes(
  runner: ModelRunner,
  loaded: { facts: ModelFileFacts; model: OnnxModel },
  signal?: AbortSignal,
): Promise<ResolvedTypes | null> {
  const graph = loaded.model.graph!;
  const candidates = typeResolutionCandidates(graph, catalogueTensors(graph, loaded.facts.path));
  // The runner checks the file it reads against the file's own digest.
  const model = { path: loaded.facts.path, sha256: loaded.facts.fileSha256 };
  for (const extraOutputs of [candidates, []]) {
    try {
      const metas = await runner.withSession(
        { model, extraOutputs },
        async (session) => [...session.inputs, ...session.outputs],
        { signal },
      );
      return { types: metaToTypes(metas), intermediates: extraOutputs.length > 0 || candidates.length === 0 };
    } catch (err) {
      if (signal?.aborted) throw err;
      // Refused, crashed or timed out: try the untouched model, then give up on ORT's view.
    }
  }
  return null;
}
