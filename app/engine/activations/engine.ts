/**
 * The activation engine: what the experiments runner, the CLI and the API call.
 *
 *   const engine = new ActivationEngine({ cacheDir });            // owns a ModelRunner unless given one
 *   // stream to sinks (minibatch CKA accumulates as batches arrive):
 *   const result = await engine.extract({ model, probe, layers }, { sinks: [acc], signal, onProgress });
 *   // or make sure every layer is in the on-disk cache (exact CKA reads the .npy files):
 *   const cached = await engine.cached({ model, probe, layers }, { signal, onProgress });
 *   await engine.close();
 */
import { WorkbenchError } from '../../common/errors.js';
import type { OmittedLayer } from '../../common/contract.js';
import type { FeedContext } from '../probe/open-feeds.js';
import { checkRoomToWrite, type RoomOptions } from '../io/disk-space.js';
import { ModelRunner, type ModelRunnerOptions } from '../runner/model-runner.js';
import type { BatchLoopOptions } from './batch-loop.js';
import { ActivationCache, type CachedLayer } from './cache.js';
import { PreparedExtraction, type Calibration, type ExtractionRequest } from './prepare.js';
import type { ExtractionProgress, ExtractionResult } from './types.js';

export interface ActivationEngineOptions {
  /** A runner shared with other parts of the engine; otherwise one is created (and closed by `close`). */
  runner?: ModelRunner;
  runnerOptions?: ModelRunnerOptions;
  /** Root of the activation cache (`cached`); required for it. */
  cacheDir?: string;
  /** Where the built-in probe lives (default: the repository's models/). */
  modelsDir?: string;
  /** The most examples a probe may have (default: probe/source.ts DEFAULT_MAX_PROBE_EXAMPLES). */
  maxProbeExamples?: number;
}

export interface CachedActivations {
  model: { path: string; sha256: string };
  probe: { spec: string; hash: string; n: number };
  /** In the selection's (topological) order. */
  layers: CachedLayer[];
  /** Selected layers that cannot be extracted, and why. */
  omitted: OmittedLayer[];
  /** Tensors that had to be extracted now (the rest were cache hits). */
  extracted: string[];
  result: ExtractionResult | null;
  notes: string[];
}

export interface CacheOptions {
  signal?: AbortSignal;
  onProgress?: (progress: ExtractionProgress) => void;
  batchSize?: number;
  nonFinite?: 'error' | 'report';
  /**
   * Told the layers' keys once the model and probe are known, before the cache is looked up: an
   * index of the cache protects them from eviction from then on (experiments/one-off-cache.ts).
   */
  hold?: (modelSha256: string, probeHash: string, layerKeys: string[]) => void;
  /** The cache limit (and a warning) the missing layers' files are checked against, beside the free disk. */
  room?: RoomOptions;
}

export class ActivationEngine {
  readonly runner: ModelRunner;
  private readonly ownsRunner: boolean;
  private readonly cache: ActivationCache | null;
  private readonly probeContext: FeedContext;

  constructor(options: ActivationEngineOptions = {}) {
    this.runner = options.runner ?? new ModelRunner(options.runnerOptions);
    this.ownsRunner = options.runner === undefined;
    this.cache = options.cacheDir ? new ActivationCache(options.cacheDir) : null;
    this.probeContext = {
      ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
      ...(options.maxProbeExamples !== undefined ? { maxExamples: options.maxProbeExamples } : {}),
    };
  }

  /**
   * Opens the model session and the probe; `run` it, then `close` it. With `calibration` from an
   * earlier prepare of the same request, an unchanged file is not calibrated again.
   */
  prepare(
    request: ExtractionRequest,
    options: { signal?: AbortSignal; calibration?: Calibration } = {},
  ): Promise<PreparedExtraction> {
    return PreparedExtraction.open(
      this.runner,
      request,
      { ...this.probeContext, signal: options.signal },
      options.calibration,
    );
  }

  /**
   * Extracts the selected layers, streaming every batch to `options.sinks`. With `checkRoomIn` (the
   * folder the sinks write to), an extraction whose files would not fit there is refused before it starts.
   */
  async extract(
    request: ExtractionRequest,
    options: BatchLoopOptions & { checkRoomIn?: string } = {},
  ): Promise<ExtractionResult> {
    const job = await this.prepare(request, { signal: options.signal });
    try {
      if (options.checkRoomIn !== undefined) await checkRoomToWrite(options.checkRoomIn, job.writeEstimate());
      return await job.run(options);
    } finally {
      await job.close();
    }
  }

  /** Every selected layer as a cached float32 .npy [n, features]; only missing layers are extracted. */
  async cached(request: ExtractionRequest, options: CacheOptions = {}): Promise<CachedActivations> {
    const cache = this.cache;
    if (!cache) throw new WorkbenchError('INTERNAL', 'the activation engine was created without a cache directory');
    const job = await this.prepare(request, { signal: options.signal });
    try {
      const { model, probe } = job;
      const wanted = job.layers.map((l) => ({ key: l.key, rows: l.rows }));
      options.hold?.(
        model.sha256,
        probe.hash,
        wanted.map((w) => w.key),
      );
      const hits = await cache.lookup(model.sha256, probe.hash, probe.n, wanted);
      const missing = job.layers.filter((l) => !hits.has(l.key));
      let result: ExtractionResult | null = null;
      if (missing.length > 0) {
        await checkRoomToWrite(cache.root, job.writeEstimate(missing), {
          where: 'the activation cache',
          ...options.room,
        });
        const { hold: _, room: __, ...runOptions } = options;
        result = await job.run({
          ...runOptions,
          keys: missing.map((l) => l.key),
          sinks: [cache.sink(model.sha256, probe.hash)],
        });
      }
      const all = missing.length > 0 ? await cache.lookup(model.sha256, probe.hash, probe.n, wanted) : hits;
      const layers = job.layers.map((l) => {
        const layer = all.get(l.key);
        if (!layer) throw new WorkbenchError('INTERNAL', `activation cache: ${l.key} missing after extraction`);
        return layer;
      });
      return {
        model,
        probe: { spec: probe.spec, hash: probe.hash, n: probe.n },
        layers,
        omitted: job.omitted,
        extracted: missing.map((l) => l.tensor),
        result,
        notes: [...job.notes, ...probe.notes],
      };
    } finally {
      await job.close();
    }
  }

  async close(): Promise<void> {
    if (this.ownsRunner) await this.runner.close();
  }
}
