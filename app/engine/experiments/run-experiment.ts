/**
 * Executes one run: prepare the models, plan, then model by model make activations and Grams
 * ready (model-work.ts) and compare the pairs the model completes (pair-work.ts). Pairs an
 * earlier run finished are read back, and models only they need are not touched. Each finished
 * pair's matrices are written to the database at once; when the run stops early (cancelled,
 * failed, app closed) the result keeps them and is marked partial.
 */
import type {
  ExperimentSpec,
  ResultModel,
  SeedsSummary,
  SimilarityMatrix,
  WorkbenchErrorData,
} from '../../common/contract.js';
import { toErrorData } from '../../common/errors.js';
import { stoppedReason } from '../../common/run-stages.js';
import { factorBytes, gramBytes, LayerMemory } from './gram-memory.js';
import { layerRef, mirrorMatrix, similarityMatrix, transposeMatrix, withReductions } from './matrices.js';
import { makeModelReady } from './model-work.js';
import { comparePairs, needsMirror, readEarlierPairs, type PairResults } from './pair-work.js';
import { planExperiment, type PlannedPair } from './plan.js';
import { checkRunFits } from './preflight.js';
import { prepareModels, type PreparedModel } from './prepare-models.js';
import { ProgressTracker, workTotals } from './progress.js';
import { RunContext, type RunEnvironment, type RunHooks } from './run-context.js';
import { runInputKey } from './run-inputs.js';
import { seedsSummaries } from './seeds.js';
import { defaultModelsDir } from '../probe/models-dir.js';

export type { RunEnvironment, RunHooks } from './run-context.js';

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
    layers: m.layers.map(layerRef),
    probe: m.probe,
    ...(m.omitted.length > 0 ? { omitted: m.omitted } : {}),
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
  private readonly matrices: SimilarityMatrix[] = [];
  /** Pairs of models whose matrices are written (a seeds pair's two orders count once). */
  private pairsFinished = 0;
  private readonly startedAt = new Date();

  constructor(private readonly ctx: RunContext) {}

  async execute(): Promise<RunOutcome> {
    const { ctx } = this;
    const started = performance.now();
    try {
      // The inputs' key before the run reads them and again at its end (digests remembered by file
      // identity make the second cheap): recorded only when no input changed meanwhile.
      const before = await ctx.timed('prepare', () => this.inputKey());
      await ctx.timed('prepare', () => this.prepare());
      const { plan } = ctx;
      const earlier = readEarlierPairs(ctx);
      const needed = new Set(plan.steps.flatMap((s) => s.pairs).flatMap((p) => (earlier.has(p) ? [] : [p.row, p.col])));
      await ctx.timed('prepare', () => checkRunFits(ctx, needed));
      for (const step of plan.steps) {
        if (needed.has(step.model)) await makeModelReady(ctx, step.model, step.estimate);
        else for (const kind of ['extract', 'grams', 'factors'] as const) ctx.tracker.skip(kind, step.estimate[kind]);
        if (step.pairs.length === 0) continue;
        // The pairs model m completes, in one call: grouped by the plan alone, not by what the
        // cache held, so a computation is always the same computation.
        const pending = step.pairs.map((pair, p) => ({ pair, estimate: step.estimate.pairs[p]! }));
        const results = await ctx.timed('similarity', () => comparePairs(ctx, pending, earlier));
        for (const { pair } of pending) this.store(pair, results.get(pair)!);
      }
      ctx.tracker.finish();
      const after = before === null ? null : await this.inputKey();
      ctx.timings.total = performance.now() - started;
      this.writeEnd(false);
      // A model's side files (external data) are not in the key, which the CLI computes from the
      // spec alone before it loads any model code: a run of such a model is never repeated.
      const sideFiles = plan.models.some((m) => m.sha256 !== m.fileSha256);
      if (after !== null && after === before && !sideFiles) this.recordInputKey(after);
      return { status: 'done' };
    } catch (err) {
      ctx.timings.total = performance.now() - started;
      const { signal } = ctx.hooks;
      const status = !signal.aborted ? 'failed' : signal.reason === CLOSING ? 'interrupted' : 'cancelled';
      const error: WorkbenchErrorData = signal.aborted
        ? {
            code: 'CANCELLED',
            message: stoppedReason(
              status === 'interrupted' ? 'interrupted: the app was closed' : 'cancelled',
              ctx.stage,
              this.pairsFinished,
            ),
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

  private inputKey(): Promise<string | null> {
    const { env, spec } = this.ctx;
    return runInputKey(spec, {
      modelsDir: env.modelsDir ?? defaultModelsDir(),
      app: env.app,
      precision: this.ctx.precision,
      sha256: (path) => env.store.digests.sha256(path),
    });
  }

  /** A courtesy for later runs: the run is done whether or not the key could be written. */
  private recordInputKey(key: string): void {
    try {
      this.ctx.env.store.history.recordInputKey(this.ctx.runId, key);
    } catch {
      // A busy or failing database only means a later run with these inputs computes again.
    }
  }

  private async prepare(): Promise<void> {
    const { ctx } = this;
    const { runId, spec, env } = ctx;
    const report = (fraction: number, message: string) =>
      ctx.hooks.onProgress({ runId, stage: 'prepare', message, fraction: PREPARE_SHARE * fraction });
    report(0, `reading ${spec.models.length} model${spec.models.length === 1 ? '' : 's'}`);
    const models = await prepareModels(env.activations, spec, {
      signal: ctx.hooks.signal,
      layouts: { store: env.store.layouts, sha256: (path) => env.store.digests.sha256(path) },
      ...(env.modelsDir ? { modelsDir: env.modelsDir } : {}),
      ...(env.maxProbeExamples !== undefined ? { maxProbeExamples: env.maxProbeExamples } : {}),
      onModel: (done, total, label) => report(done / total, `read ${label} (${done}/${total})`),
    });
    ctx.checkAborted();
    const plan = planExperiment(spec, models);
    env.store.history.writeResultHeader(runId, {
      models: resultModels(models),
      probe: models[0]!.probe,
      ...(spec.kind === 'seeds' ? { excludedLayers: [...seedsLayout(models).excluded] } : {}),
    });
    ctx.start({
      plan,
      tracker: new ProgressTracker(runId, workTotals(plan.steps), ctx.hooks.onProgress, PREPARE_SHARE),
      memory: new LayerMemory(env.store.grams, runId, env.cka.memoryBudgetBytes / 2, gramBytes),
      factors: new LayerMemory(env.store.factors, runId, env.cka.memoryBudgetBytes / 2, factorBytes, 'CCA factors'),
    });
  }

  /**
   * Writes a pair's matrices to the database, in one transaction: for seeds also the other way
   * round (the transpose for symmetric measures, the mirror computed for asymmetric ones), and for
   * a family's off-diagonal pairs the mirror of an asymmetric measure.
   */
  private store(pair: PlannedPair, results: PairResults): void {
    const { plan, spec, env, runId } = this.ctx;
    const finished = spec.measures.flatMap((text) => {
      const result = results.get(text)!;
      const rows = { model: pair.row, label: plan.models[pair.row]!.label };
      const cols = { model: pair.col, label: plan.models[pair.col]!.label };
      const rowLayers = plan.models[pair.row]!.layers;
      const colLayers = plan.models[pair.col]!.layers;
      const matrix = withReductions(similarityMatrix(result, rows, cols), rowLayers, colLayers);
      const computedMirror = needsMirror(this.ctx, pair) ? mirrorMatrix(result, rows, cols) : null;
      const mirror = computedMirror ? withReductions(computedMirror, colLayers, rowLayers) : null;
      if (pair.mirrored) return [matrix, mirror ?? transposeMatrix(matrix)];
      return mirror ? [matrix, mirror] : [matrix];
    });
    env.store.history.appendMatrices(runId, this.matrices.length, finished);
    this.matrices.push(...finished);
    this.pairsFinished++;
  }

  private writeEnd(partial: boolean): void {
    const { ctx } = this;
    if (!ctx.started) return;
    const { plan, env } = ctx;
    const seeds: SeedsSummary[] | null =
      plan.kind === 'seeds' ? seedsSummaries(this.matrices, seedsLayout(plan.models)) : null;
    env.store.history.finishResult(ctx.runId, {
      partial,
      seeds,
      provenance: {
        appVersion: env.app.version,
        onnxruntime: env.app.onnxruntime,
        startedAt: this.startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        timingsMs: Object.fromEntries(Object.entries(ctx.timings).map(([k, v]) => [k, Math.round(v)])),
        work: ctx.work,
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
  return new Run(new RunContext(env, runId, spec, hooks)).execute();
}
