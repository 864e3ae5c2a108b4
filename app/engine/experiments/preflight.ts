/**
 * Before a run does any heavy work: will what it writes fit? The activations it must extract and
 * the Grams it must compute (what the cache already holds is not counted) go into the cache, where
 * the run pins them: they must fit on the disk and under the cache limit. A run that cannot fit is
 * refused with DISK_FULL in its prepare stage, instead of filling the disk and failing an hour in.
 */
import { estimateWrites } from '../activations/write-estimate.js';
import { checkRoomToWrite } from '../io/disk-space.js';
import { layerFeatures } from './plan.js';
import type { PreparedModel } from './prepare-models.js';
import type { RunContext } from './run-context.js';

/** Values per example of each layer: exact where calibration saw it, from the shape otherwise. */
function featuresOf(model: PreparedModel): number[] {
  const seen = new Map(model.calibration?.extracted.map((l) => [l.tensor, l.features]) ?? []);
  return model.layers.map((l) => seen.get(l.tensor) ?? layerFeatures(l.shape));
}

/** DISK_FULL when the run's writes do not fit; `needed`: the models (indices) whose work is not done. */
export async function checkRunFits(ctx: RunContext, needed: ReadonlySet<number>): Promise<void> {
  const { plan, env, runId } = ctx;
  const activations: number[] = [];
  let grams = 0;
  const counted = new Set<string>();
  for (const m of [...needed].sort((a, b) => a - b)) {
    const model = plan.models[m]!;
    const key = `${model.sha256}\0${model.probe.hash}\0${model.selection}`;
    if (counted.has(key)) continue; // the same file twice in the spec: its work is done once
    counted.add(key);
    const features = featuresOf(model);
    let wanted = model.layers.map((_, i) => i);
    if (plan.needsGrams) {
      const cached = env.store.grams.cached(runId, ctx.gramIds(model));
      const missingGrams = wanted.filter((i) => !cached[i]);
      grams += missingGrams.length;
      if (plan.minibatch.length === 0) wanted = missingGrams;
    }
    const tensors = wanted.map((i) => model.layers[i]!.tensor);
    const found = await env.activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, tensors);
    wanted.forEach((i, k) => {
      if (!found.has(tensors[k]!)) activations.push(features[i]!);
    });
  }
  await checkRoomToWrite(env.store.dirs.activations, estimateWrites(plan.n, activations, grams), {
    cacheLimitBytes: env.store.cache.limitBytes(),
    where: "the workbench's cache",
  });
}
