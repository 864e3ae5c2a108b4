/**
 * A model's catalogue, calibrated: every layer run on made-up inputs (probe/synthetic-feeds.ts)
 * in the two calibration batches, to say before any run how it splits into examples — the
 * examples first, examples × k (regrouped), or neither (with the reason) — and its real
 * per-example shape where onnxruntime reports `?`.
 */
import type { CalibratedLayer, ModelCalibration } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { summarizeModel } from '../onnx/catalogue.js';
import { loadModel, usableSideFiles } from '../onnx/model-file.js';
import { outputsToAdd } from '../onnx/surgery.js';
import { MAX_VALUES_PER_EXAMPLE, formatValueCount } from '../probe/source.js';
import { syntheticFeeds } from '../probe/synthetic-feeds.js';
import type { ModelRunner } from '../runner/model-runner.js';
import { resolveModelTypes } from '../runner/model-types.js';
import { analyseSplits } from './calibration.js';
import { fixedBatchOf, modelInputs } from './prepare.js';

/** How long the made-up batches may take: this is a look at the model, not a run. */
const CALIBRATION_TIMEOUT_MS = 60_000;

export async function calibrateModelFile(
  runner: ModelRunner,
  path: string,
  signal?: AbortSignal,
): Promise<ModelCalibration> {
  const loaded = await loadModel(path);
  const { facts, model } = loaded;
  usableSideFiles(loaded);
  const resolved = await resolveModelTypes(runner, loaded, signal);
  const summary = summarizeModel(model, facts, resolved?.types);
  const base = { path: facts.path, sha256: facts.sha256 };
  const tensors = summary.layers.map((l) => l.tensor);
  const extraOutputs = outputsToAdd(model.graph!, tensors, facts.path);
  return runner
    .withSession(
      { model: { path: facts.path, sha256: facts.fileSha256 }, extraOutputs },
      async (session) => {
        const inputs = modelInputs(session);
        const made = syntheticFeeds(inputs);
        if ('reason' in made) return { ...base, layers: [], inputs: '', notes: [made.reason] };
        const { splits, orders } = await analyseSplits({
          session,
          timeoutMs: CALIBRATION_TIMEOUT_MS,
          feeds: made.feeds,
          fixedBatch: fixedBatchOf(inputs),
          layers: summary.layers.map((l) => ({ tensor: l.tensor, name: l.name, op: l.op, channel: null })),
          signal,
        });
        const layers: CalibratedLayer[] = summary.layers.map((l, i) => {
          const split = splits[i]!;
          if (split.kind === 'none') return { tensor: l.tensor, split: 'none', shape: null, reason: split.reason };
          if (split.kind === 'large') {
            return {
              tensor: l.tensor,
              split: 'none',
              shape: null,
              reason: `it has ${formatValueCount(split.values)} per example; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)}`,
            };
          }
          const shape = split.shape.map((d, a) => (split.seqAxes.includes(a) ? ('seq' as const) : d));
          if (split.kind === 'examples') {
            return split.batchAxis === null
              ? { tensor: l.tensor, split: 'examples', shape }
              : { tensor: l.tensor, split: 'examples', batchAxis: split.batchAxis, shape };
          }
          const order = orders.get(i);
          return order
            ? { tensor: l.tensor, split: 'grouped', groups: split.k, shape }
            : {
                tensor: l.tensor,
                split: 'none',
                shape: null,
                reason: `its first axis is examples × ${split.k}, but an example's rows are neither together nor ${split.k} apart`,
              };
        });
        const grouped = layers.filter((l) => l.split === 'grouped').length;
        const none = layers.filter((l) => l.split === 'none').length;
        return {
          ...base,
          layers,
          inputs: made.described,
          notes: [
            ...(grouped > 0
              ? [`${grouped} layer(s) are examples × k on their first axis: regrouped when compared`]
              : []),
            ...(none > 0
              ? [`${none} layer(s) do not split into examples: left out (with the reason) when selected`]
              : []),
          ],
        };
      },
      { signal },
    )
    .catch((err: unknown) => {
      if (err instanceof WorkbenchError && err.code === 'CANCELLED') throw err;
      const message = err instanceof Error ? err.message : String(err);
      return { ...base, layers: [], inputs: '', notes: [`the made-up inputs could not be run: ${message}`] };
    });
}
