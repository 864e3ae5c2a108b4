/**
 * Making one model ready for its comparisons: its Grams (for exact measures), its CCA-family
 * factors (for the baselines) and, where they are needed — Grams or factors to compute, minibatch
 * measures — its activations. Each comes from the cache when it is there; only what is missing is
 * extracted (only the missing layers) or computed, and it goes into the cache (pinned for this
 * run, so eviction cannot take it mid-run). Wide layers needed only as Grams get them from the
 * runner and write no activations (model-needs.ts says which).
 */
import { promises as fs } from 'node:fs';
import { WorkbenchError } from '../../common/errors.js';
import type { CachedLayer } from '../activations/cache.js';
import { activationKey } from '../store/cache-index.js';
import { SomeLayersSink } from '../activations/some-layers-sink.js';
import type { GramSink } from '../activations/types.js';
import type { GramBatch } from '../runner/protocol.js';
import { layerGramOf, type LayerGram } from '../similarity/index.js';
import type { GramId } from '../store/gram-store.js';
import { modelNeeds, type ModelNeeds } from './model-needs.js';
import type { RunContext } from './run-context.js';
import { reduceOf } from './spec.js';

export async function makeModelReady(
  ctx: RunContext,
  m: number,
  estimate: { extract: number; grams: number; factors: number },
): Promise<void> {
  ctx.checkAborted();
  const { tracker } = ctx;
  const model = ctx.plan.models[m]!;
  const needs = await modelNeeds(ctx, m);
  ctx.work.gramsReused += needs.reused.grams;
  if (needs.reused.factors > 0) ctx.work.factorsReused = (ctx.work.factorsReused ?? 0) + needs.reused.factors;
  let fromRunner = new Map<number, LayerGram>();
  if (needs.files.length + needs.inRunner.length > 0) {
    fromRunner = await ctx.timed('extract', () => extract(ctx, m, needs, estimate.extract));
  } else {
    tracker.skip('extract', estimate.extract);
  }
  const { missingGrams, missingFactors } = needs;
  if (missingGrams.length > 0) {
    const ids = ctx.gramIds(model);
    await ctx.timed('kernels', () => computeGrams(ctx, m, missingGrams, ids, fromRunner, estimate.grams));
    await ctx.env.store.cache.evict();
  } else {
    tracker.skip('grams', estimate.grams);
  }
  if (missingFactors.length > 0) {
    const ids = ctx.factorIds(model);
    // The SVDs belong to the per-layer stage ('Grams & SVDs'); their time is kept apart.
    await ctx.timed('kernels', () => computeFactors(ctx, m, missingFactors, ids, estimate.factors), 'factors');
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

/** Collects the Grams a model's runner computed, by position among the layers extracted. */
class RunnerGrams implements GramSink {
  readonly grams = new Map<number, GramBatch>();

  writeGrams(layer: number, grams: GramBatch[]): void {
    for (const gram of grams) this.grams.set(layer, gram);
  }
}

/**
 * Makes model m's activation files of `needs.files` ready (from the cache, or extracted into it)
 * and, in the same pass over the probe, has its runner compute the Grams of `needs.inRunner`.
 * Returns those Grams by layer index.
 */
async function extract(
  ctx: RunContext,
  m: number,
  needs: ModelNeeds,
  estimate: number,
): Promise<Map<number, LayerGram>> {
  const { store, activationCache } = ctx.env;
  const model = ctx.plan.models[m]!;
  const tracker = ctx.tracker;
  const layers = needs.files.map((i) => model.layers[i]!);
  const wanted = layers.map((l) => ({ key: l.key, rows: l.rows }));
  const keyOf = (key: string) => activationKey(model.sha256, model.probe.hash, key);
  store.cache.pinAndGet(
    ctx.runId,
    layers.map((l) => keyOf(l.key)),
  );
  let found = await activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, wanted);
  const missing = layers.filter((l) => !found.has(l.key)).map((l) => l.key);
  const inRunner = new Set(needs.inRunner.map((i) => model.layers[i]!.key));
  // The batch loop numbers the layers it runs in the model's order (the calibration's).
  const running = model.layers.filter((l) => inRunner.has(l.key) || missing.includes(l.key));
  const share = (count: number) => estimate * (count / model.layers.length);
  const fromRunner = new Map<number, LayerGram>();
  if (running.length > 0) {
    tracker.start('extract', share(running.length), {
      stage: 'extract',
      model: model.label,
      message: `extracting ${model.label}: ${running.length} layer${running.length === 1 ? '' : 's'}`,
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
    const runnerGrams = new RunnerGrams();
    try {
      if (job.model.sha256 !== model.sha256 || job.probe.hash !== model.probe.hash) {
        throw new WorkbenchError('BAD_INPUT', `${model.label}: the model or probe file changed during the run`);
      }
      const batchSize = ctx.spec.options?.batchSize;
      const toCache = (l: { key: string }) => !inRunner.has(l.key);
      await job.run({
        keys: running.map((l) => l.key),
        sinks:
          missing.length > 0 ? [new SomeLayersSink(activationCache.sink(model.sha256, model.probe.hash), toCache)] : [],
        // One Gram batch of all rows per wide layer (every layer has the same rows: prepare-models.ts checkRows).
        ...(inRunner.size > 0
          ? {
              grams: {
                batchSize: running[0]!.rows,
                precision: ctx.env.cka.precision,
                // The host waits, its CKA threads idle: the runner may use them for the Grams.
                threads: ctx.env.cka.threads,
                sink: runnerGrams,
                of: (l: { key: string }) => inRunner.has(l.key),
              },
            }
          : {}),
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
    const precision = ctx.precision === 'float64' ? 'float64' : 'float32';
    for (const [j, l] of running.entries()) {
      if (!inRunner.has(l.key)) continue;
      const gram = runnerGrams.grams.get(j);
      if (!gram) throw new WorkbenchError('INTERNAL', `${model.label}: the runner sent no Gram of layer '${l.name}'`);
      const layer = { tensor: l.tensor, name: l.name };
      fromRunner.set(model.layers.indexOf(l), layerGramOf(layer, l.features, precision, { ...gram, n: l.rows }));
    }
    tracker.finish();
    tracker.skip('extract', share(model.layers.length - running.length));
    if (missing.length > 0) found = await activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, wanted);
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
  // Layers the model ran for count as extracted, whether their rows were kept or only their Grams.
  ctx.work.activationsExtracted += running.length;
  ctx.work.activationsReused += layers.length - missing.length;
  return fromRunner;
}

/** The Grams of `missing` layers: those the runner made, the rest from activation files; into the cache and memory. */
async function computeGrams(
  ctx: RunContext,
  m: number,
  missing: number[],
  ids: GramId[],
  fromRunner: ReadonlyMap<number, LayerGram>,
  estimate: number,
): Promise<void> {
  const model = ctx.plan.models[m]!;
  const tracker = ctx.tracker;
  const total = model.layers.length;
  const fromFiles = missing.filter((i) => !fromRunner.has(i));
  tracker.start('grams', estimate * (fromFiles.length / total), {
    stage: 'kernels',
    model: model.label,
    // All made in the runner: only their saving is left.
    message:
      fromFiles.length > 0
        ? `Grams of ${model.label}: 0/${fromFiles.length} layers`
        : `saving the Grams of ${model.label} (${missing.length} layer${missing.length === 1 ? '' : 's'})`,
  });
  const computed =
    fromFiles.length === 0
      ? []
      : await ctx.env.cka.computeGrams(ctx.sourcesOf(m, fromFiles), {
          signal: ctx.hooks.signal,
          onProgress: (p) =>
            tracker.update(p.done / Math.max(1, p.total), {
              message: `Grams of ${model.label}: ${p.done}/${p.total} layers`,
            }),
        });
  const grams = new Map(fromRunner);
  fromFiles.forEach((i, j) => grams.set(i, computed[j]!));
  await ctx.env.store.grams.save(
    ctx.runId,
    missing.map((i) => ({ id: ids[i]!, item: grams.get(i)! })),
  );
  for (const i of missing) ctx.memory.put(ids[i]!, grams.get(i)!);
  ctx.memory.trim(ids);
  tracker.finish();
  tracker.skip('grams', estimate * ((total - fromFiles.length) / total));
  ctx.work.gramsComputed += missing.length;
}
