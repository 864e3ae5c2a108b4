/**
 * Making one model ready for its comparisons: its Grams (for exact measures), its CCA-family
 * factors (for the baselines) and, where they are needed — Grams or factors to compute, minibatch
 * measures — its activations. Each comes from the cache when it is there; only what is missing is
 * extracted (only the missing layers) or computed, and it goes into the cache (pinned for this
 * run, so eviction cannot take it mid-run).
 */
import { promises as fs } from 'node:fs';
import { WorkbenchError } from '../../common/errors.js';
import type { CachedLayer } from '../activations/cache.js';
import { activationKey } from '../store/cache-index.js';
import type { GramId } from '../store/gram-store.js';
import type { RunContext } from './run-context.js';
import { reduceOf } from './spec.js';

export async function makeModelReady(
  ctx: RunContext,
  m: number,
  estimate: { extract: number; grams: number; factors: number },
): Promise<void> {
  ctx.checkAborted();
  const { plan, tracker, memory } = ctx;
  const model = plan.models[m]!;
  const ids = ctx.gramIds(model);
  const missingGrams: number[] = [];
  if (plan.needsGrams) {
    const cached = ctx.env.store.grams.cached(ctx.runId, ids);
    ids.forEach((id, i) => {
      if (memory.has(id)) return;
      if (cached[i]) ctx.work.gramsReused++;
      else missingGrams.push(i);
    });
  }
  const factorIds = ctx.factorIds(model);
  const missingFactors: number[] = [];
  if (plan.needsFactors) {
    const cached = ctx.env.store.factors.cached(ctx.runId, factorIds);
    factorIds.forEach((id, i) => {
      if (ctx.factors.has(id)) return;
      if (cached[i]) ctx.work.factorsReused = (ctx.work.factorsReused ?? 0) + 1;
      else missingFactors.push(i);
    });
  }
  const needed =
    plan.minibatch.length > 0
      ? model.layers.map((_, i) => i)
      : [...new Set([...missingGrams, ...missingFactors])].sort((a, b) => a - b);
  if (needed.length > 0) {
    await ctx.timed('extract', () => ensureActivations(ctx, m, needed, estimate.extract));
  } else {
    tracker.skip('extract', estimate.extract);
  }
  if (missingGrams.length > 0) {
    await ctx.timed('kernels', () => computeGrams(ctx, m, missingGrams, ids, estimate.grams));
    await ctx.env.store.cache.evict();
  } else {
    tracker.skip('grams', estimate.grams);
  }
  if (missingFactors.length > 0) {
    // The SVDs belong to the per-layer stage ('Grams & SVDs'); their time is kept apart.
    await ctx.timed('kernels', () => computeFactors(ctx, m, missingFactors, factorIds, estimate.factors), 'factors');
    await ctx.env.store.cache.evict();
  } else {
    tracker.skip('factors', estimate.factors);
  }
}

/** The layers' CCA-family factors (a thin SVD each), into the cache and the run's memory. */
async function computeFactors(
  ctx: RunContext,
  m: number,
  missing: number[],
  ids: GramId[],
  estimate: number,
): Promise<void> {
  const model = ctx.plan.models[m]!;
  const tracker = ctx.tracker;
  const total = model.layers.length;
  tracker.start('factors', estimate * (missing.length / total), {
    stage: 'kernels',
    model: model.label,
    message: `SVDs of ${model.label} (CCA family): 0/${missing.length} layers`,
  });
  const factors = await ctx.env.cka.computeFactors(ctx.sourcesOf(m, missing), {
    signal: ctx.hooks.signal,
    onProgress: (p) =>
      tracker.update(p.done / Math.max(1, p.total), {
        message: `SVDs of ${model.label} (CCA family): ${p.done}/${p.total} layers`,
      }),
  });
  await ctx.env.store.factors.save(
    ctx.runId,
    missing.map((i, j) => ({ id: ids[i]!, item: factors[j]! })),
  );
  missing.forEach((i, j) => ctx.factors.put(ids[i]!, factors[j]!));
  ctx.factors.trim(ids);
  tracker.finish();
  tracker.skip('factors', estimate * ((total - missing.length) / total));
  ctx.work.factorsComputed = (ctx.work.factorsComputed ?? 0) + missing.length;
}

async function ensureActivations(ctx: RunContext, m: number, needed: number[], estimate: number): Promise<void> {
  const { store, activationCache } = ctx.env;
  const model = ctx.plan.models[m]!;
  const tracker = ctx.tracker;
  const layers = needed.map((i) => model.layers[i]!);
  const wanted = layers.map((l) => ({ key: l.key, rows: l.rows }));
  const keyOf = (key: string) => activationKey(model.sha256, model.probe.hash, key);
  store.cache.pinAndGet(
    ctx.runId,
    layers.map((l) => keyOf(l.key)),
  );
  let found = await activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, wanted);
  const missing = layers.filter((l) => !found.has(l.key)).map((l) => l.key);
  const share = (count: number) => estimate * (count / model.layers.length);
  if (missing.length > 0) {
    tracker.start('extract', share(missing.length), {
      stage: 'extract',
      model: model.label,
      message: `extracting ${model.label}: ${missing.length} layer${missing.length === 1 ? '' : 's'}`,
    });
    const ref = ctx.spec.models[model.index]!;
    const job = await ctx.env.activations.prepare(
      {
        model: model.path,
        probe: model.probeSpec,
        layers: model.selection,
        reduce: reduceOf(ctx.spec, model.index),
        ...(ref.tokenizer !== undefined ? { tokenizer: ref.tokenizer } : {}),
        ...(ref.maskInput !== undefined ? { maskInput: ref.maskInput } : {}),
      },
      // Calibrated in the prepare stage: opened again without calibrating.
      { signal: ctx.hooks.signal, calibration: model.calibration },
    );
    try {
      if (job.model.sha256 !== model.sha256 || job.probe.hash !== model.probe.hash) {
        throw new WorkbenchError('BAD_INPUT', `${model.label}: the model or probe file changed during the run`);
      }
      const batchSize = ctx.spec.options?.batchSize;
      await job.run({
        keys: missing,
        sinks: [activationCache.sink(model.sha256, model.probe.hash)],
        signal: ctx.hooks.signal,
        // NaN/Inf in a layer makes that layer's cells undefined (with the reason), not the run fail.
        nonFinite: 'report',
        ...(batchSize !== undefined ? { batchSize } : {}),
        onProgress: (p) =>
          tracker.update(
            p.examplesDone / Math.max(1, p.n),
            { message: `extracting ${model.label}: batch ${p.batchesDone}/${p.batchesTotal}` },
            { examplesPerSecond: p.examplesPerSecond },
          ),
      });
    } finally {
      await job.close();
    }
    tracker.finish();
    tracker.skip('extract', share(model.layers.length - missing.length));
    found = await activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, wanted);
  } else {
    tracker.skip('extract', estimate);
  }
  const files = ctx.activationFiles.get(m) ?? new Map<string, CachedLayer>();
  const entries = [];
  for (const { key, tensor } of layers) {
    const layer = found.get(key);
    if (!layer)
      throw new WorkbenchError('INTERNAL', `activation cache: ${key} of ${model.label} missing after extraction`);
    files.set(key, layer);
    entries.push({
      key: keyOf(key),
      kind: 'activation' as const,
      modelSha256: model.sha256,
      probeHash: model.probe.hash,
      tensor,
      path: layer.path,
      bytes: (await fs.stat(layer.path)).size,
    });
  }
  // Rows that pointed at other files for these layers: nothing refers to those files any more, and
  // the sweep keeps activation files without rows, so they go here (as GramStore.save does).
  const inUse = new Set(entries.map((e) => e.path));
  for (const replaced of store.cache.add(entries, ctx.runId)) {
    if (!inUse.has(replaced)) await fs.rm(replaced, { force: true });
  }
  ctx.activationFiles.set(m, files);
  ctx.work.activationsExtracted += missing.length;
  ctx.work.activationsReused += layers.length - missing.length;
}

async function computeGrams(
  ctx: RunContext,
  m: number,
  missing: number[],
  ids: GramId[],
  estimate: number,
): Promise<void> {
  const model = ctx.plan.models[m]!;
  const tracker = ctx.tracker;
  const total = model.layers.length;
  tracker.start('grams', estimate * (missing.length / total), {
    stage: 'kernels',
    model: model.label,
    message: `Grams of ${model.label}: 0/${missing.length} layers`,
  });
  const grams = await ctx.env.cka.computeGrams(ctx.sourcesOf(m, missing), {
    signal: ctx.hooks.signal,
    onProgress: (p) =>
      tracker.update(p.done / Math.max(1, p.total), {
        message: `Grams of ${model.label}: ${p.done}/${p.total} layers`,
      }),
  });
  await ctx.env.store.grams.save(
    ctx.runId,
    missing.map((i, j) => ({ id: ids[i]!, item: grams[j]! })),
  );
  missing.forEach((i, j) => ctx.memory.put(ids[i]!, grams[j]!));
  ctx.memory.trim(ids);
  tracker.finish();
  tracker.skip('grams', estimate * ((total - missing.length) / total));
  ctx.work.gramsComputed += missing.length;
}
