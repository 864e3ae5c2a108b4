/**
 * Before a run does any heavy work: will what it writes fit? The activations it must extract and
 * keep as files and the Grams it must compute (what the cache already holds is not counted) go into the cache, where
 * the run pins them: they must fit on the disk and under the cache limit. A run that cannot fit is
 * refused with DISK_FULL in its prepare stage, instead of filling the disk and failing an hour in;
 * one that takes more than half the limit is let through with a warning (it evicts older entries).
 */
import { estimateWrites, type LayerWrite } from '../activations/write-estimate.js';
import { checkRoomToWrite } from '../io/disk-space.js';
import { modelNeeds } from './model-needs.js';
import type { RunContext } from './run-context.js';

/** DISK_FULL when the run's writes do not fit; `needed`: the models (indices) whose work is not done. */
export async function checkRunFits(ctx: RunContext, needed: ReadonlySet<number>): Promise<void> {
  const { plan, env } = ctx;
  const activations: LayerWrite[] = [];
  let grams = 0;
  const counted = new Set<string>();
  for (const m of [...needed].sort((a, b) => a - b)) {
    const model = plan.models[m]!;
    const key = `${model.sha256}\0${model.probe.hash}\0${model.selection}`;
    if (counted.has(key)) continue; // the same file twice in the spec: its work is done once
    counted.add(key);
    // The same decision the run makes (model-needs.ts): Grams made in the runner write no activations.
    const needs = await modelNeeds(ctx, m);
    grams += needs.missingGrams.length;
    const layers = needs.files.map((i) => model.layers[i]!);
    const found = await env.activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, layers);
    for (const l of layers) {
      if (!found.has(l.key)) activations.push({ rows: l.rows, features: l.features });
    }
  }
  await env.store.refreshDefaultLimit();
  await checkRoomToWrite(
    env.store.dirs.activations,
    estimateWrites(plan.n, activations, grams, ctx.precision === 'float32' ? 4 : 8),
    {
      cacheLimitBytes: env.store.cache.limitBytes(),
      where: "the workbench's cache",
      ...(ctx.hooks.onWarning ? { onWarning: ctx.hooks.onWarning } : {}),
    },
  );
}
