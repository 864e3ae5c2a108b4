/**
 * Exact CKA of models straight from their extraction (stream-compare.ts hands over what the
 * activation cache did not have). What is kept for later runs, per layer of p features on n rows:
 * - p ≤ n: its activations go to the activation cache while it is extracted (n·p values, no more
 *   than its Gram's n(n+1)/2);
 * - p > n: only its Gram (packed, n(n+1)/2 values, float32 for a float32 product), when every
 *   measure works on Grams (linear, RBF, debiased, with or without a bootstrap) and the Gram form
 *   is the one the CKA engine would use (not linear CKA in feature space); a later run loads it
 *   and extracts nothing for it.
 * Everything else is compared from memory and forgotten. The numbers are the file path's: the
 * same activations, the same Grams, the same products.
 *
 * In the Gram form, a layer wider than its examples is held in its model's runner process, which
 * computes its Gram there once every row has come (runner/batch-grams.ts, the workers' code) and
 * sends only that: its n·p activations never cross to this process.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CompareRequest } from '../../common/contract.js';
import type { ActivationCache } from '../activations/cache.js';
import type { PreparedExtraction, PlannedLayer } from '../activations/prepare.js';
import type { BatchLoopOptions } from '../activations/batch-loop.js';
import { SomeLayersSink } from '../activations/some-layers-sink.js';
import type { ActivationSink, GramSink, LayerBatch } from '../activations/types.js';
import { WorkbenchError } from '../../common/errors.js';
import type { GramBatch } from '../runner/protocol.js';
import { checkRoomToWrite } from '../io/disk-space.js';
import {
  featureFormIsCheaper,
  isGramMeasure,
  layerGramOf,
  loadGram,
  saveGram,
  type CkaResult,
  type LayerGram,
  type LayerSource,
  type Measure,
} from '../similarity/index.js';
import type { StreamCompareOptions, StreamedModel } from './stream-types.js';

const layerRef = (l: PlannedLayer) => ({ tensor: l.tensor, name: l.name });

/** Where the Gram of a layer (at a Gram precision) lives beside its model's cached activations. */
export function gramPath(cache: ActivationCache, model: StreamedModel, layer: PlannedLayer, precision: string): string {
  const id = createHash('sha256').update(`${layer.key}\n${precision}`).digest('hex').slice(0, 16);
  return join(cache.dirFor(model.model.sha256, model.probe.hash), 'grams', `${id}.gram.npy`);
}

/**
 * Collects one model's extracted layers into shared arrays, row block by row block, and the Grams
 * its runner sent instead of some layers' rows.
 */
class MemorySink implements ActivationSink, GramSink {
  readonly arrays: (Float32Array | undefined)[];
  readonly grams: (GramBatch | undefined)[];
  private readonly offsets: number[];

  constructor(private readonly layers: readonly PlannedLayer[]) {
    this.arrays = layers.map(() => undefined);
    this.grams = layers.map(() => undefined);
    this.offsets = layers.map(() => 0);
  }

  write(batch: LayerBatch): void {
    const layer = this.layers[batch.layer]!;
    const array = (this.arrays[batch.layer] ??= new Float32Array(
      new SharedArrayBuffer(layer.rows * layer.features * 4),
    ));
    array.set(batch.data, this.offsets[batch.layer]!);
    this.offsets[batch.layer]! += batch.data.length;
  }

  writeGrams(layer: number, grams: GramBatch[]): void {
    for (const gram of grams) this.grams[layer] = gram;
  }
}

async function loadCachedGram(path: string, layer: PlannedLayer): Promise<LayerGram | null> {
  try {
    const gram = await loadGram(path);
    return gram.n === layer.rows && gram.features === layer.features ? { ...gram, layer: layerRef(layer) } : null;
  } catch {
    return null; // missing or unreadable: computed again
  }
}

/**
 * The most activation bytes held in memory: a quarter of the CKA engine's budget (the rest is for
 * its Grams, and each Gram task copies its layer again), and at most 1 GiB — beyond that the
 * files in the page cache cost less (measured: two zoo CNNs at n = 5000, 2.5 GB of activations,
 * took 8.4 GB and 1.5× the time of the file path held in memory).
 */
export const MAX_IN_MEMORY_BYTES = 2 ** 30;

/**
 * Null when the layers to extract are more than that: the caller extracts to the cache and
 * compares the files instead.
 */
export async function compareExact(
  jobs: readonly PreparedExtraction[],
  models: readonly StreamedModel[],
  measures: readonly Measure[],
  request: CompareRequest,
  options: StreamCompareOptions,
  cache: ActivationCache,
  runTogether: (
    plans: ({ sinks: ActivationSink[]; keys: string[]; grams?: BatchLoopOptions['grams'] } | null)[],
  ) => Promise<void>,
): Promise<CkaResult[] | null> {
  const { cka } = options;
  const layers = models.flatMap((m) => m.layers);
  const n = layers[0]?.rows ?? 0;
  const featureForm =
    measures.every((m) => m.name === 'linear') &&
    !request.bootstrap &&
    featureFormIsCheaper(
      n,
      layers.map((l) => l.features),
    );
  const gramForm = measures.every(isGramMeasure) && !featureForm;
  const grams = models.map(() => new Map<PlannedLayer, LayerGram>());
  if (gramForm) {
    for (const [i, m] of models.entries()) {
      for (const l of m.layers) {
        if (l.path !== undefined) continue;
        const gram = await loadCachedGram(gramPath(cache, m, l, cka.precision), l);
        if (gram) grams[i]!.set(l, gram);
      }
    }
  }
  const missing = models.map((m, i) => m.layers.filter((l) => l.path === undefined && !grams[i]!.has(l)));
  const bytes = missing.flat().reduce((a, l) => a + l.rows * l.features * 4, 0);
  if (bytes > Math.min(cka.memoryBudgetBytes / 4, MAX_IN_MEMORY_BYTES)) return null;
  const memory = missing.map((ls) => new MemorySink(ls));
  const small = (l: { rows: number; features: number }) => l.features <= l.rows;
  // Narrow layers go to the activation cache as they are extracted, if the disk and the cache's
  // limit have room for them (the comparison itself needs no file: without room, nothing is kept).
  const keep = await Promise.all(
    missing.map(async (ls, i) => {
      const narrow = ls.filter(small);
      if (narrow.length === 0) return false;
      try {
        // Under the cache's limit too; no warning: keeping them is optional.
        const limit = options.room?.cacheLimitBytes;
        await checkRoomToWrite(cache.root, jobs[i]!.writeEstimate(narrow), {
          ...(limit !== undefined ? { cacheLimitBytes: limit } : {}),
        });
        return true;
      } catch {
        return false;
      }
    }),
  );
  // Gram form: the runners compute wide layers' Grams (one batch of all n rows; HSIC needs n ≥ 4).
  const inRunner = (l: { rows: number; features: number }) => gramForm && !small(l) && l.rows >= 4;
  const precision = cka.precision === 'float64' ? 'float64' : 'float32';
  await runTogether(
    missing.map((ls, i) => {
      if (ls.length === 0) return null;
      const job = jobs[i]!;
      const sinks: ActivationSink[] = [memory[i]!];
      if (keep[i]) sinks.push(new SomeLayersSink(cache.sink(job.model.sha256, job.probe.hash), small));
      const wide = new Set(ls.filter(inRunner).map((l) => l.key));
      return {
        sinks,
        keys: ls.map((l) => l.key),
        ...(wide.size > 0
          ? { grams: { batchSize: n, precision, sink: memory[i]!, of: (l: { key: string }) => wide.has(l.key) } }
          : {}),
      };
    }),
  );
  type Layer = StreamedModel['layers'][number];
  const madeInRunner: { i: number; l: Layer }[] = [];
  for (const i of models.keys()) {
    for (const [j, l] of missing[i]!.entries()) {
      const gram = memory[i]!.grams[j];
      if (!gram) continue;
      grams[i]!.set(l, layerGramOf(layerRef(l), l.features, precision, { ...gram, n: l.rows }));
      madeInRunner.push({ i, l });
    }
  }
  const sourceOf = (i: number, l: Layer): LayerSource => {
    if (l.path !== undefined) return { kind: 'npy', layer: layerRef(l), path: l.path };
    const data = memory[i]!.arrays[missing[i]!.indexOf(l)];
    if (!data) throw new WorkbenchError('INTERNAL', `${models[i]!.model.path}: no rows of layer '${l.name}' came back`);
    return { kind: 'array', layer: layerRef(l), data, n: l.rows, features: l.features };
  };
  const run = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onCkaProgress ? { onProgress: options.onCkaProgress } : {}),
    ...(request.bootstrap ? { bootstrap: request.bootstrap } : {}),
  };
  if (!gramForm) {
    const sources = models.map((m, i) => m.layers.map((l) => sourceOf(i, l)));
    return cka.compare(sources[0]!, sources[1] ?? null, measures, run);
  }

  const started = performance.now();
  const toCompute = models.flatMap((m, i) => m.layers.flatMap((l) => (grams[i]!.has(l) ? [] : [{ i, l }])));
  const computed = await cka.computeGrams(
    toCompute.map(({ i, l }) => sourceOf(i, l)),
    run,
  );
  const gramMs = performance.now() - started;
  for (const [k, { i, l }] of toCompute.entries()) grams[i]!.set(l, computed[k]!);
  const saves: Promise<void>[] = [];
  for (const { i, l } of [...toCompute, ...madeInRunner]) {
    // A layer wider than its examples keeps its Gram, not its activations. Only for later runs
    // (written while the pairs are compared): a Gram that cannot be written does not stop this one.
    if (l.path === undefined && l.features > l.rows) {
      const path = gramPath(cache, models[i]!, l, cka.precision);
      // saveGram copies the Gram before its first await: the comparison cannot change what is written.
      const made = await fs.mkdir(dirname(path), { recursive: true }).then(
        () => true,
        () => false,
      );
      if (made) saves.push(saveGram(grams[i]!.get(l)!, path).catch(() => undefined));
    }
  }
  const ordered = models.map((m, i) => m.layers.map((l) => grams[i]!.get(l)!));
  const results = await cka.compareGrams(ordered[0]!, ordered[1] ?? null, measures, run);
  for (const r of results) r.timings = { grams: gramMs, ...r.timings, total: performance.now() - started };
  await Promise.all(saves);
  return results;
}
