/**
 * API methods for one-off work kept in no history: extracting a model's activations into a folder,
 * and comparing two sides (models, extract folders, .npy files). Both check every path against the
 * file-access policy, run as jobs (progress events, cancelJob), and own their engines for the call.
 */
import type { ExtractionSummary, ImageProbeOptions, WorkbenchApi } from '../common/contract.js';
import type { ExtractionResult } from '../engine/activations/types.js';
import { tokenizerFile } from '../engine/probe/tokenizer-files.js';
import { CkaEngine } from '../engine/similarity/index.js';
import { compareSides, isModelPath } from '../engine/experiments/compare-sides.js';
import { probePath } from '../engine/experiments/spec-paths.js';
import { IMAGENET_MEAN, IMAGENET_STD, parseProbeSpec, type ImageOptions } from '../engine/probe/spec.js';
import type { ModelRunnerOptions } from '../engine/runner/model-runner.js';
import type { Store } from '../engine/store/store.js';
import type { FileAccessPolicy } from './file-access.js';
import type { Jobs } from './jobs.js';
import type { OneOffMethodName } from './method-groups.js';

export interface OneOffDeps {
  policy: FileAccessPolicy;
  jobs: Jobs;
  /** Where model sides' activations are cached. */
  activationCacheDir: string;
  /**
   * The store whose cache index `activationCacheDir` belongs to (the data directory's own): model
   * sides' activations are registered, held and bounded there. Absent for a cache of the caller's.
   */
  store?: () => Promise<Store>;
  modelsDir: string;
  app: { version: string; onnxruntime: string };
  runnerOptions: ModelRunnerOptions;
  /** CKA worker threads when the request names none. */
  threads?: number;
  /** The most examples a probe may have. */
  maxProbeExamples?: number;
}

type OneOffMethods = Pick<WorkbenchApi, OneOffMethodName>;

function imageOptions(image: ImageProbeOptions | undefined): ImageOptions {
  if (!image) return {};
  const channels = (v: number[] | 'imagenet' | undefined, imagenet: number[]) => (v === 'imagenet' ? imagenet : v);
  const mean = channels(image.mean, IMAGENET_MEAN);
  const std = channels(image.std, IMAGENET_STD);
  return {
    ...(image.size ? { size: image.size } : {}),
    ...(image.mode ? { mode: image.mode } : {}),
    ...(image.layout ? { layout: image.layout } : {}),
    ...(mean ? { mean } : {}),
    ...(std ? { std } : {}),
  };
}

/** The engine's result in the contract's form (the runner plans and cache keys stay inside). */
export function extractionSummary(result: ExtractionResult): ExtractionSummary {
  return {
    model: result.model,
    probe: result.probe,
    layers: result.layers.map((l) => ({
      tensor: l.tensor,
      name: l.name,
      op: l.op,
      shape: l.shape,
      features: l.features,
      dtype: l.dtype,
      ...(l.reduction !== 'flatten' ? { reduction: l.reduction } : {}),
      ...(l.rows !== result.probe.n ? { rows: l.rows } : {}),
    })),
    nonFinite: result.nonFinite,
    batchSize: result.batchSize,
    batches: result.batches,
    seconds: result.seconds,
    examplesPerSecond: result.examplesPerSecond,
    notes: result.notes,
    ...(result.omitted.length > 0 ? { omitted: result.omitted } : {}),
  };
}

export function oneOffMethods(deps: OneOffDeps): OneOffMethods {
  const { policy } = deps;

  /** The probe's data and the tokenizers it or the request names must be allowed. */
  async function checkProbe(spec: string, tokenizer?: string): Promise<void> {
    const parsed = parseProbeSpec(spec);
    const path = probePath(parsed);
    if (path) await policy.check(path.path, path.kind === 'dir' ? 'probe folder' : 'probe file');
    if (parsed.kind === 'text' && parsed.tokenizer) await policy.check(tokenizerFile(parsed.tokenizer), 'tokenizer');
    if (tokenizer !== undefined) await policy.check(tokenizerFile(tokenizer), 'tokenizer');
  }

  return {
    async extractActivations(request) {
      // The job id is taken before the first await, so two calls with one id cannot both start.
      return deps.jobs.run(request.jobId, async (signal, progress) => {
        await policy.check(request.model, 'model');
        await checkProbe(request.probe, request.tokenizer);
        const out = await policy.checkOutput(request.out);
        // Imported here: a compare of extracted folders, in this method group too, needs none of it.
        const [{ ActivationEngine }, { ExtractDirSink }] = await Promise.all([
          import('../engine/activations/engine.js'),
          import('../engine/activations/extract-dir.js'),
        ]);
        const engine = new ActivationEngine({
          runnerOptions: deps.runnerOptions,
          modelsDir: deps.modelsDir,
          ...(deps.maxProbeExamples !== undefined ? { maxProbeExamples: deps.maxProbeExamples } : {}),
        });
        try {
          const result = await engine.extract(
            {
              model: request.model,
              probe: request.probe,
              ...(request.layers !== undefined ? { layers: request.layers } : {}),
              imageOptions: imageOptions(request.image),
              optimization: request.optimization ?? 'fast',
              ...(request.reduce !== undefined ? { reduce: request.reduce } : {}),
              ...(request.tokenizer !== undefined ? { tokenizer: request.tokenizer } : {}),
              ...(request.maskInput !== undefined ? { maskInput: request.maskInput } : {}),
            },
            {
              // The runner writes the .npy files itself: the rows never come to this process.
              sinks: [new ExtractDirSink(out, { byRunner: true })],
              checkRoomIn: out,
              signal,
              nonFinite: request.nonFinite ?? 'error',
              ...(request.batchSize !== undefined ? { batchSize: request.batchSize } : {}),
              onProgress: (p) =>
                progress({
                  stage: 'extract',
                  done: p.examplesDone,
                  total: p.n,
                  message: `batch ${p.batchesDone}/${p.batchesTotal}, ${p.examplesDone}/${p.n} examples`,
                  examplesPerSecond: p.examplesPerSecond,
                }),
            },
          );
          return extractionSummary(result);
        } finally {
          await engine.close();
        }
      });
    },

    async compareLayers(request) {
      return deps.jobs.run(request.jobId, async (signal, progress) => {
        const sides = request.b === undefined ? [request.a] : [request.a, request.b];
        for (const side of sides) await policy.check(side, isModelPath(side) ? 'model' : 'activations folder or file');
        if (request.probe !== undefined) await checkProbe(request.probe, request.tokenizer);
        if (request.probeB !== undefined) await checkProbe(request.probeB, request.tokenizerB);
        else if (request.tokenizerB !== undefined) await policy.check(tokenizerFile(request.tokenizerB), 'tokenizer');
        const threads = request.threads ?? deps.threads;
        const cka = new CkaEngine({
          ...(threads !== undefined ? { threads } : {}),
          ...(request.memoryBudgetMiB !== undefined ? { memoryBudgetBytes: request.memoryBudgetMiB * 2 ** 20 } : {}),
          precision: request.precision ?? 'auto',
        });
        try {
          return await compareSides(request, {
            cka,
            activations: {
              cacheDir: deps.activationCacheDir,
              modelsDir: deps.modelsDir,
              runnerOptions: deps.runnerOptions,
              ...(deps.maxProbeExamples !== undefined ? { maxProbeExamples: deps.maxProbeExamples } : {}),
            },
            app: deps.app,
            signal,
            onProgress: progress,
            ...(deps.store ? { cacheIndex: async () => (await deps.store!()).cache } : {}),
          });
        } finally {
          await cka.close();
        }
      });
    },

    cancelJob: async ({ jobId }) => ({ cancelled: deps.jobs.cancel(jobId) }),
  };
}
