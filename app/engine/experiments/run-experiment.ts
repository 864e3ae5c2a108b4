/**
 * Executes one run: prepare the models, plan, then model by model make activations and Grams
 * (from the cache where they are) and compare every pair the model completes. Each finished
 * matrix is written to the database at once; when the run stops early (cancelled, failed, app
 * closed) the result keeps those matrices and is marked partial.
 */
import { promises as fs } from 'node:fs';
import type {
  ExperimentSpec,
  ResultModel,
  RunProgress,
  RunWork,
  SeedsSummary,
  SimilarityMatrix,
  WorkbenchErrorData,
} from '../../api/contract.js';
import { WorkbenchError, toErrorData } from '../../api/errors.js';
import type { ActivationCache, CachedLayer } from '../activations/cache.js';
import type { ActivationEngine } from '../activations/engine.js';
import type { CkaEngine } from '../cka/engine.js';
import type { CkaProgress, CkaResult, LayerSource } from '../cka/types.js';
import { activationKey } from '../store/cache-index.js';
import type { GramId } from '../store/gram-store.js';
import type { Store } from '../store/store.js';
import { compareGramPairs } from './compare-pairs.js';
import { GramMemory } from './gram-memory.js';
import { similarityMatrix, transposeMatrix } from './matrices.js';
import { planExperiment, type ExperimentPlan, type PlannedPair } from './plan.js';
import { prepareModels, type PreparedModel } from './prepare-models.js';
import { ProgressTracker } from './progress.js';
import { seedsSummaries } from './seeds.js';

export interface RunEnvironment {
  store: Store;
  activations: ActivationEngine;
  activationCache: ActivationCache;
  cka: CkaEngine;
  app: { version: string; onnxruntime: string };
  /** Where the built-in probe lives (default: the repository's models/). */
  modelsDir?: string;
}

export interface RunHooks {
  signal: AbortSignal;
  onProgress(progress: RunProgress): void;
}

export type RunOutcome =
  { status: 'done' } | { status: 'failed' | 'cancelled' | 'interrupted'; error: WorkbenchErrorData };

/** The part of the progress bar the prepare stage fills. */
const PREPARE_SHARE = 0.02;

/** The abort reason the service uses when the app closes (the run is then `interrupted`, not `cancelled`). */
export const CLOSING = 'closing';

export function resultModels(models: readonly PreparedModel[]): ResultModel[] {
  return models.map((m) => ({
    path: m.path,
    sha256: m.sha256,
    label: m.label,
    layers: m.layers.map(({ tensor, name }) => ({ tensor, name })),
  }));
}

/** The logits of seeds models (positions of graph outputs), left out of the sanity check. */
export function seedsLayout(models: readonly Pick<PreparedModel, 'layers' | 'outputs'>[]) {
  const reference = models[0]!;
  const excluded = new Set<number>();
  reference.layers.forEach((l, i) => {
    if (reference.outputs.has(l.tensor)) excluded.add(i);
  });
  return { layers: reference.layers.length, excluded };
}

class Run {
  private readonly timings: Record<string, number> = {};
  private readonly work: RunWork = { activationsExtracted: 0, activationsReused: 0, gramsComputed: 0, gramsReused: 0 };
  private readonly matrices: SimilarityMatrix[] = [];
  private readonly startedAt = new Date();
  private plan: ExperimentPlan | null = null;
  private tracker: ProgressTracker | null = null;
  private memory: GramMemory | null = null;
  /** Activation files per model index (for minibatch measures and Grams to compute). */
  private readonly activationFiles = new Map<number, Map<string, CachedLayer>>();
  private stage = 'prepare';

  constructor(
    private readonly env: RunEnvironment,
    private readonly runId: string,
    private readonly spec: ExperimentSpec,
    private readonly hooks: RunHooks,
  ) {}

  async execute(): Promise<RunOutcome> {
    const started = performance.now();
    try {
      await this.timed('prepare', () => this.prepare());
      const plan = this.plan!;
      // After model m is ready, every pair it completes is compared in one call of the CKA core.
      // The grouping depends on the plan only — not on what the cache held — so a re-run, or a
      // run with one more model appended, reproduces the earlier numbers bit for bit.
      for (const step of plan.steps) {
        await this.makeModelReady(step.model, step.estimate);
        if (step.pairs.length === 0) continue;
        const pending = step.pairs.map((pair, p) => ({ pair, estimate: step.estimate.pairs[p]! }));
        await this.timed('similarity', () => this.comparePairs(pending));
      }
      this.tracker?.finish();
      this.timings.total = performance.now() - started;
      this.writeEnd(false);
      return { status: 'done' };
    } catch (err) {
      this.timings.total = performance.now() - started;
      const aborted = this.hooks.signal.aborted;
      const status = !aborted ? 'failed' : this.hooks.signal.reason === CLOSING ? 'interrupted' : 'cancelled';
      const error: WorkbenchErrorData = aborted
        ? {
            code: 'CANCELLED',
            message:
              status === 'interrupted'
                ? `interrupted: the app was closed during ${this.stage}; finished pairs were kept`
                : `cancelled during ${this.stage}; finished pairs were kept`,
          }
        : toErrorData(err);
      try {
        this.writeEnd(true);
      } catch {
        // The database itself failed: the matrices written so far are still there.
      }
      return { status, error };
    }
  }

  private async timed<T>(stage: string, work: () => Promise<T>): Promise<T> {
    this.stage = stage;
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + performance.now() - t0;
    }
  }

  private checkAborted(): void {
    if (this.hooks.signal.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
  }

  private async prepare(): Promise<void> {
    const { runId, spec } = this;
    const report = (fraction: number, message: string) =>
      this.hooks.onProgress({ runId, stage: 'prepare', message, fraction: PREPARE_SHARE * fraction });
    report(0, `reading ${spec.models.length} model${spec.models.length === 1 ? '' : 's'}`);
    const models = await prepareModels(this.env.activations, spec, {
      signal: this.hooks.signal,
      layouts: this.env.store.layouts,
      ...(this.env.modelsDir ? { modelsDir: this.env.modelsDir } : {}),
      onModel: (done, total, label) => report(done / total, `read ${label} (${done}/${total})`),
    });
    this.checkAborted();
    this.plan = planExperiment(spec, models);
    this.env.store.history.writeResultHeader(runId, {
      models: resultModels(models),
      probe: models[0]!.probe,
      ...(spec.kind === 'seeds' ? { excludedLayers: [...seedsLayout(models).excluded] } : {}),
    });
    this.tracker = new ProgressTracker(runId, this.plan.totalEstimate, this.hooks.onProgress, PREPARE_SHARE);
    this.memory = new GramMemory(this.env.store.grams, runId, this.env.cka.memoryBudgetBytes / 2);
  }

  private gramIds(model: PreparedModel): GramId[] {
    const precision = this.env.cka.precision === 'auto' ? 'float32' : this.env.cka.precision;
    return model.layers.map((l) => ({
      modelSha256: model.sha256,
      probeHash: model.probe.hash,
      tensor: l.tensor,
      precision,
    }));
  }

  /** Activations (if needed) and Grams of one model, from the cache where they are. */
  private async makeModelReady(m: number, estimate: { extract: number; grams: number }): Promise<void> {
    this.checkAborted();
    const plan = this.plan!;
    const model = plan.models[m]!;
    const tracker = this.tracker!;
    const memory = this.memory!;
    const ids = this.gramIds(model);
    const missingGrams: number[] = [];
    if (plan.needsGrams) {
      const cached = this.env.store.grams.cached(this.runId, ids);
      ids.forEach((id, i) => {
        if (memory.has(id)) return;
        if (cached[i]) this.work.gramsReused++;
        else missingGrams.push(i);
      });
    }
    const needed = plan.minibatch.length > 0 ? model.layers.map((_, i) => i) : missingGrams;
    if (needed.length > 0) {
      await this.timed('extract', () => this.ensureActivations(m, needed, estimate.extract));
    } else {
      tracker.skip(estimate.extract);
    }
    if (missingGrams.length > 0) {
      await this.timed('kernels', () => this.computeGrams(m, missingGrams, ids, estimate.grams));
      await this.env.store.cache.evict();
    } else {
      tracker.skip(estimate.grams);
    }
  }

  private async ensureActivations(m: number, needed: number[], estimate: number): Promise<void> {
    const { store, activationCache } = this.env;
    const model = this.plan!.models[m]!;
    const tracker = this.tracker!;
    const tensors = needed.map((i) => model.layers[i]!.tensor);
    store.cache.pinAndGet(
      this.runId,
      tensors.map((t) => activationKey(model.sha256, model.probe.hash, t)),
    );
    let found = await activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, tensors);
    const missing = tensors.filter((t) => !found.has(t));
    if (missing.length > 0) {
      tracker.start(estimate * (missing.length / model.layers.length), {
        stage: 'extract',
        model: model.label,
        message: `extracting ${model.label}: ${missing.length} layer${missing.length === 1 ? '' : 's'}`,
      });
      const job = await this.env.activations.prepare(
        { model: model.path, probe: this.spec.probe, layers: model.selection },
        { signal: this.hooks.signal },
      );
      try {
        if (job.model.sha256 !== model.sha256 || job.probe.hash !== model.probe.hash) {
          throw new WorkbenchError(
            'BAD_INPUT',
            `${model.label}: the model or probe file changed while the experiment was running`,
          );
        }
        const batchSize = this.spec.options?.batchSize;
        await job.run({
          tensors: missing,
          sinks: [activationCache.sink(model.sha256, model.probe.hash)],
          signal: this.hooks.signal,
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
      tracker.skip(estimate * ((model.layers.length - missing.length) / model.layers.length));
      found = await activationCache.lookup(model.sha256, model.probe.hash, model.probe.n, tensors);
    } else {
      tracker.skip(estimate);
    }
    const files = this.activationFiles.get(m) ?? new Map<string, CachedLayer>();
    const entries = [];
    for (const t of tensors) {
      const layer = found.get(t);
      if (!layer)
        throw new WorkbenchError('INTERNAL', `activation cache: ${t} of ${model.label} missing after extraction`);
      files.set(t, layer);
      entries.push({
        key: activationKey(model.sha256, model.probe.hash, t),
        kind: 'activation' as const,
        modelSha256: model.sha256,
        probeHash: model.probe.hash,
        tensor: t,
        path: layer.path,
        bytes: (await fs.stat(layer.path)).size,
      });
    }
    store.cache.add(entries, this.runId);
    this.activationFiles.set(m, files);
    this.work.activationsExtracted += missing.length;
    this.work.activationsReused += tensors.length - missing.length;
  }

  private sourcesOf(m: number, indices: readonly number[]): LayerSource[] {
    const model = this.plan!.models[m]!;
    const files = this.activationFiles.get(m)!;
    return indices.map((i) => {
      const layer = model.layers[i]!;
      return { kind: 'npy', layer: { tensor: layer.tensor, name: layer.name }, path: files.get(layer.tensor)!.path };
    });
  }

  private async computeGrams(m: number, missing: number[], ids: GramId[], estimate: number): Promise<void> {
    const model = this.plan!.models[m]!;
    const tracker = this.tracker!;
    const total = model.layers.length;
    tracker.start(estimate * (missing.length / total), {
      stage: 'kernels',
      model: model.label,
      message: `Grams of ${model.label}: 0/${missing.length} layers`,
    });
    const grams = await this.env.cka.computeGrams(this.sourcesOf(m, missing), {
      signal: this.hooks.signal,
      onProgress: (p) =>
        tracker.update(p.done / Math.max(1, p.total), {
          message: `Grams of ${model.label}: ${p.done}/${p.total} layers`,
        }),
    });
    await this.env.store.grams.save(
      this.runId,
      missing.map((i, j) => ({ id: ids[i]!, gram: grams[j]! })),
    );
    missing.forEach((i, j) => this.memory!.put(ids[i]!, grams[j]!));
    this.memory!.trim(ids);
    tracker.finish();
    tracker.skip(estimate * ((total - missing.length) / total));
    this.work.gramsComputed += missing.length;
  }

  /** Bytes of the Grams of these models (what comparing them in one call holds in memory). */
  private gramBytes(models: readonly number[]): number {
    const n = this.plan!.n;
    const perLayer = ((n * (n + 1)) / 2) * 8;
    return models.reduce((a, m) => a + this.plan!.models[m]!.layers.length * perLayer, 0);
  }

  /** Compares `pending` pairs — in one call when their Grams fit the memory budget, else pair by pair. */
  private async comparePairs(pending: readonly { pair: PlannedPair; estimate: number }[]): Promise<void> {
    this.checkAborted();
    const involved = [...new Set(pending.flatMap(({ pair }) => [pair.row, pair.col]))];
    if (pending.length > 1 && this.gramBytes(involved) > this.env.cka.memoryBudgetBytes / 2) {
      for (const item of pending) await this.comparePairs([item]);
      return;
    }
    const plan = this.plan!;
    const tracker = this.tracker!;
    const pairs = pending.map((p) => p.pair);
    const label = (p: PlannedPair) =>
      p.row === p.col ? plan.models[p.row]!.label : `${plan.models[p.row]!.label} × ${plan.models[p.col]!.label}`;
    const what = pairs.length === 1 ? label(pairs[0]!) : `${pairs.length} pairs`;
    tracker.start(
      pending.reduce((a, p) => a + p.estimate, 0),
      { stage: 'similarity', message: `comparing ${what}` },
    );
    const bootstrap = this.spec.options?.bootstrap;
    const run = {
      signal: this.hooks.signal,
      ...(bootstrap ? { bootstrap } : {}),
      onProgress: (p: CkaProgress) => {
        const boot = p.stage === 'bootstrap';
        const within = p.done / Math.max(1, p.total);
        tracker.update(boot ? 0.5 + 0.5 * within : 0.5 * within, {
          stage: boot ? 'bootstrap' : 'similarity',
          message: `${boot ? 'bootstrap intervals of' : 'comparing'} ${what}`,
        });
      },
    };
    const results: Map<string, CkaResult>[] = pairs.map(() => new Map());
    if (plan.exact.length > 0) {
      const memory = this.memory!;
      const exact = await compareGramPairs(
        this.env.cka,
        pairs,
        plan.exact.map((m) => m.measure),
        (models) => Promise.all(models.map((m) => memory.get(this.gramIds(plan.models[m]!)))),
        run,
      );
      exact.forEach((perMeasure, p) => plan.exact.forEach((m, i) => results[p]!.set(m.text, perMeasure[i]!)));
    }
    for (const [p, pair] of pairs.entries()) {
      for (const m of plan.minibatch) {
        const all = (model: number) => plan.models[model]!.layers.map((_, i) => i);
        const rows = this.sourcesOf(pair.row, all(pair.row));
        const cols = pair.row === pair.col ? null : this.sourcesOf(pair.col, all(pair.col));
        results[p]!.set(m.text, await this.env.cka.compareMinibatch(rows, cols, m.measure, run));
      }
    }
    this.checkAborted();
    for (const [p, pair] of pairs.entries()) this.store(pair, results[p]!);
    tracker.finish();
  }

  /** Writes a pair's matrices (and, for seeds, their transposes) to the database. */
  private store(pair: PlannedPair, results: Map<string, CkaResult>): void {
    const plan = this.plan!;
    const finished = this.spec.measures.flatMap((text) => {
      const matrix = similarityMatrix(
        results.get(text)!,
        { model: pair.row, label: plan.models[pair.row]!.label },
        { model: pair.col, label: plan.models[pair.col]!.label },
      );
      return pair.mirrored ? [matrix, transposeMatrix(matrix)] : [matrix];
    });
    this.env.store.history.appendMatrices(this.runId, this.matrices.length, finished);
    this.matrices.push(...finished);
  }

  private writeEnd(partial: boolean): void {
    const plan = this.plan;
    if (!plan) return;
    const seeds: SeedsSummary[] | null =
      plan.kind === 'seeds' ? seedsSummaries(this.matrices, seedsLayout(plan.models)) : null;
    this.env.store.history.finishResult(this.runId, {
      partial,
      seeds,
      provenance: {
        appVersion: this.env.app.version,
        onnxruntime: this.env.app.onnxruntime,
        startedAt: this.startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        timingsMs: Object.fromEntries(Object.entries(this.timings).map(([k, v]) => [k, Math.round(v)])),
        work: this.work,
      },
    });
  }
}

export function executeRun(
  env: RunEnvironment,
  runId: string,
  spec: ExperimentSpec,
  hooks: RunHooks,
): Promise<RunOutcome> {
  return new Run(env, runId, spec, hooks).execute();
}
