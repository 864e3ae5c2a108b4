/**
 * Comparing models straight from their extraction: the streaming path of a one-off `compare`.
 *
 * Both models are prepared side by side (two runner processes), and what happens next depends on
 * the measures and on what the activation cache already holds:
 * - every selected layer of every model cached: the files are compared as they are (`cached`);
 * - only minibatch measures in probe order: both models run at once and their batches feed the
 *   minibatch accumulators directly (per-batch HSIC₁, Nguyen et al. 2021); the model ahead waits
 *   for the other, so a few batches are buffered whatever n is, and nothing is written to disk;
 * - CKA measures that need every example at once (linear, RBF, debiased, shuffled minibatch, with
 *   or without a bootstrap): the missing layers are extracted into memory (cached layers are read
 *   from their files, cached Grams loaded) and compared there, when they fit a quarter of the
 *   CKA engine's memory budget and 1 GiB; what is worth keeping goes to the cache — a narrow
 *   layer's activations, a wide layer's Gram (stream-exact.ts). Beyond that, the missing layers
 *   go to the activation cache (both models at once, `cached`) and the files are compared.
 * - the CCA-family baselines and Procrustes (feature-space measures): `files`, as before.
 */
import type { CompareRequest } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { ActivationCache } from '../activations/cache.js';
import { ActivationEngine } from '../activations/engine.js';
import { checkRoomToWrite, type WriteEstimate } from '../io/disk-space.js';
import type { PlannedLayer, ExtractionRequest, PreparedExtraction } from '../activations/prepare.js';
import type { BatchLoopOptions } from '../activations/batch-loop.js';
import type { ActivationSink, ExtractionProgress, GramSink, LayerBatch } from '../activations/types.js';
import type { GramBatch } from '../runner/protocol.js';
import { isBaseline } from '../cka/measures.js';
import type { CkaResult, Measure, MinibatchMeasure } from '../cka/types.js';
import type { MinibatchStream } from '../similarity/index.js';
import { compareExact } from './stream-exact.js';
import type { StreamCompareOptions, StreamedModel } from './stream-types.js';

export type { StreamCompareOptions, StreamedModel } from './stream-types.js';

export type StreamOutcome =
  /** Every layer was in the cache: compare the files (`path` set on every layer). */
  | { kind: 'cached'; models: StreamedModel[] }
  /** Computed from the extraction; nothing was written. */
  | { kind: 'streamed'; models: StreamedModel[]; results: CkaResult[] }
  /** This path does not apply (the baselines): the caller extracts to the cache as before. */
  | { kind: 'files' };

/** Whether the measures can be computed without writing activations (baselines need their features on disk). */
export function streamable(measures: readonly Measure[]): boolean {
  return measures.length > 0 && !measures.some(isBaseline);
}

const inProbeOrder = (m: Measure): m is MinibatchMeasure => m.name === 'minibatch' && m.shuffleSeed === undefined;

/** The extraction request of side A or B of a compare request. */
export function extractionRequestOf(path: string, which: 'a' | 'b', request: CompareRequest): ExtractionRequest {
  const probe = which === 'b' ? (request.probeB ?? request.probe) : request.probe;
  if (probe === undefined) {
    throw new WorkbenchError('BAD_INPUT', `${path}: comparing a model needs a probe set (the examples to run it on)`, {
      field: 'probe',
    });
  }
  const tokenizer = which === 'b' ? (request.tokenizerB ?? request.tokenizer) : request.tokenizer;
  const layers = which === 'b' ? (request.layersB ?? request.layers) : request.layers;
  return {
    model: path,
    probe,
    ...(layers !== undefined ? { layers } : {}),
    ...(request.reduce !== undefined ? { reduce: request.reduce } : {}),
    ...(tokenizer !== undefined ? { tokenizer } : {}),
    ...(request.maskInput !== undefined ? { maskInput: request.maskInput } : {}),
  };
}

function modelOf(job: PreparedExtraction): StreamedModel {
  return {
    model: job.model,
    probe: { spec: job.probe.spec, hash: job.probe.hash, n: job.probe.n },
    layers: job.layers.map((l) => ({ ...l })),
    omitted: job.omitted,
  };
}

const layerRef = (l: PlannedLayer) => ({ tensor: l.tensor, name: l.name });

export async function streamCompare(
  request: CompareRequest,
  measures: readonly Measure[],
  options: StreamCompareOptions,
): Promise<StreamOutcome> {
  if (!streamable(measures) || options.activations.cacheDir === undefined) return { kind: 'files' };
  // The CKA workers start while the models are opened and run (every outcome compares something).
  options.cka.warm();
  const runnerOptions = options.activations.runnerOptions ?? {};
  // One runner process per model, so both run at once (intra-op threads split between them).
  const engine = new ActivationEngine({
    ...options.activations,
    runnerOptions: { ...runnerOptions, maxProcesses: Math.max(2, runnerOptions.maxProcesses ?? 1) },
  });
  const cache = new ActivationCache(options.activations.cacheDir);
  const paths = request.b === undefined ? [request.a] : [request.a, request.b];
  const jobs: PreparedExtraction[] = [];
  try {
    const opened = await Promise.allSettled(
      paths.map((path, i) =>
        engine.prepare(extractionRequestOf(path, i === 0 ? 'a' : 'b', request), {
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      ),
    );
    for (const o of opened) if (o.status === 'fulfilled') jobs.push(o.value);
    for (const o of opened) if (o.status === 'rejected') throw o.reason;
    const models = jobs.map(modelOf);
    options.check(models);
    const [a, b] = jobs;
    // One model on both sides (two copies, or other layers of it): its two sinks would share one
    // cache folder and its manifest; the sides are extracted one after the other instead.
    if (a && b && a.model.sha256 === b.model.sha256 && a.probe.hash === b.probe.hash) return { kind: 'files' };
    options.hold?.(models);
    const hits = await Promise.all(
      jobs.map((job) =>
        cache.lookup(
          job.model.sha256,
          job.probe.hash,
          job.probe.n,
          job.layers.map((l) => ({ key: l.key, rows: l.rows })),
        ),
      ),
    );
    models.forEach((m, i) => {
      for (const l of m.layers) {
        const hit = hits[i]!.get(l.key);
        if (hit) l.path = hit.path;
      }
    });
    if (models.every((m) => m.layers.every((l) => l.path !== undefined))) return { kind: 'cached', models };
    if (measures.every(inProbeOrder)) {
      const results = await streamMinibatch(jobs, measures as MinibatchMeasure[], request, options);
      return { kind: 'streamed', models, results };
    }
    const results = await compareExact(jobs, models, measures, request, options, cache, (plans) =>
      runTogether(jobs, options, new AbortController(), plans),
    );
    if (results) return { kind: 'streamed', models, results };
    // Too large to hold: the missing layers into the activation cache (both models at once, with
    // the sessions already open), then the files are compared.
    await extractToCache(jobs, models, cache, options);
    return { kind: 'cached', models };
  } finally {
    await Promise.allSettled(jobs.map((j) => j.close()));
    await engine.close();
  }
}

async function extractToCache(
  jobs: readonly PreparedExtraction[],
  models: readonly StreamedModel[],
  cache: ActivationCache,
  options: StreamCompareOptions,
): Promise<void> {
  const missing = models.map((m) => m.layers.filter((l) => l.path === undefined));
  // Both models extract at once: their writes are checked together, against the cache's limit too.
  const estimates = missing.flatMap((layers, i) => (layers.length > 0 ? [jobs[i]!.writeEstimate(layers)] : []));
  await checkRoomToWrite(cache.root, sumEstimates(estimates), { where: 'the activation cache', ...options.room });
  await runTogether(
    jobs,
    options,
    new AbortController(),
    missing.map((layers, i) =>
      layers.length === 0
        ? null
        : { sinks: [cache.sink(jobs[i]!.model.sha256, jobs[i]!.probe.hash)], keys: layers.map((l) => l.key) },
    ),
  );
  for (const [i, m] of models.entries()) {
    const job = jobs[i]!;
    const found = await cache.lookup(
      job.model.sha256,
      job.probe.hash,
      job.probe.n,
      m.layers.map((l) => ({ key: l.key, rows: l.rows })),
    );
    for (const l of m.layers) {
      const hit = found.get(l.key);
      if (!hit) throw new WorkbenchError('INTERNAL', `activation cache: ${l.key} missing after extraction`);
      l.path = hit.path;
    }
  }
}

/** Extraction progress of several models at once, as one count of examples. */
function progressOf(jobs: readonly PreparedExtraction[], running: readonly boolean[], options: StreamCompareOptions) {
  const done = jobs.map(() => 0);
  // Only the models that extract something count: one with all its layers cached reports nothing.
  const total = jobs.reduce((a, j, i) => a + (running[i] ? j.probe.n : 0), 0);
  const started = performance.now();
  return (i: number) => (p: ExtractionProgress) => {
    done[i] = p.examplesDone;
    const sum = done.reduce((a, b) => a + b, 0);
    options.onExtractProgress?.(sum, total, sum / Math.max(1e-9, (performance.now() - started) / 1000));
  };
}

/**
 * Runs every job at once; the first failure stops the others (through `abort`), and is what
 * rejects — not the cancellation it caused.
 */
async function runTogether(
  jobs: readonly PreparedExtraction[],
  options: StreamCompareOptions,
  stop: AbortController,
  plans: readonly ({
    sinks: ActivationSink[];
    keys?: string[];
    batchSize?: number;
    grams?: BatchLoopOptions['grams'];
  } | null)[],
  onSettled: () => void = () => undefined,
): Promise<void> {
  const outer = options.signal;
  const onAbort = () => stop.abort();
  outer?.addEventListener('abort', onAbort, { once: true });
  if (outer?.aborted) stop.abort();
  const progress = progressOf(
    jobs,
    plans.map((p) => p !== null),
    options,
  );
  let first: unknown = null;
  try {
    await Promise.all(
      jobs.map(async (job, i) => {
        const plan = plans[i];
        if (!plan) return;
        try {
          await job.run({ ...plan, signal: stop.signal, onProgress: progress(i) });
        } catch (err) {
          first ??= err;
          stop.abort();
        } finally {
          onSettled();
        }
      }),
    );
    if (outer?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
    if (first) throw first;
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
}

/** Hands each batch of one model's layers to the minibatch accumulators, keeping pace with the other model. */
class MinibatchSink implements ActivationSink, GramSink {
  constructor(
    private readonly streams: readonly MinibatchStream[],
    private readonly side: 'row' | 'col',
    private readonly lastLayer: number,
  ) {}

  async write(batch: LayerBatch): Promise<void> {
    for (const stream of this.streams) await stream.push(this.side, batch.layer, batch.data);
    if (batch.layer === this.lastLayer) await this.keepPace();
  }

  async writeGrams(layer: number, grams: GramBatch[], rows: number): Promise<void> {
    for (const stream of this.streams) await stream.pushGrams(this.side, layer, grams, rows);
    if (layer === this.lastLayer) await this.keepPace();
  }

  private async keepPace(): Promise<void> {
    for (const stream of this.streams) await stream.keepPace(this.side);
  }
}

async function streamMinibatch(
  jobs: readonly PreparedExtraction[],
  measures: readonly MinibatchMeasure[],
  request: CompareRequest,
  options: StreamCompareOptions,
): Promise<CkaResult[]> {
  const specs = jobs.map((job) => job.layers.map((l) => ({ layer: layerRef(l), features: l.features })));
  // Extraction batches of whole minibatches (at least 64 examples, at most the default's 256): each
  // chunk completes batches for the accumulators, and two models' batches in flight stay small.
  const b = Math.min(...measures.map((m) => m.batchSize));
  const batchSize = Math.min(256, b * Math.ceil(64 / b));
  const stop = new AbortController();
  const streams = measures.map((m) =>
    options.cka.minibatchStream(specs[0]!, specs[1] ?? null, m, {
      signal: stop.signal,
      ...(request.bootstrap ? { bootstrap: request.bootstrap } : {}),
    }),
  );
  // One batch size: the model runners compute the batches' Grams themselves, and only those
  // (b(b+1)/2 values per layer and batch) cross to this process (runner/batch-grams.ts).
  const oneBatchSize = measures.every((m) => m.batchSize === b);
  await runTogether(
    jobs,
    options,
    stop,
    jobs.map((job, i) => {
      const sink = new MinibatchSink(streams, i === 0 ? 'row' : 'col', job.layers.length - 1);
      return oneBatchSize
        ? { sinks: [], batchSize, grams: { batchSize: b, precision: streams[0]!.precision, sink } }
        : { sinks: [sink], batchSize };
    }),
    // A model that stopped (done or failed) no longer holds the other back.
    () => streams.forEach((s) => s.release()),
  );
  const results: CkaResult[] = [];
  for (const stream of streams) results.push(await stream.finish());
  return results;
}

/** Several models' writes as one estimate (their parts summed, their descriptions joined). */
export function sumEstimates(estimates: readonly WriteEstimate[]): WriteEstimate {
  return {
    bytes: estimates.reduce((a, e) => a + e.bytes, 0),
    what: estimates.map((e) => e.what).join('; '),
    activationBytes: estimates.reduce((a, e) => a + (e.activationBytes ?? 0), 0),
    gramBytes: estimates.reduce((a, e) => a + (e.gramBytes ?? 0), 0),
  };
}
