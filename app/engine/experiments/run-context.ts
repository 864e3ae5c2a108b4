/**
 * What the stages of one run share: the engines and the store, the spec and its plan, progress,
 * the Grams held in memory, the activation files found so far, and the counts of work done and
 * reused (reported in the result's provenance).
 */
import type { ExperimentSpec, RunProgress, RunStage, RunWork } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { ActivationCache, CachedLayer } from '../activations/cache.js';
import type { ActivationEngine } from '../activations/engine.js';
import type { CkaEngine, LayerSource } from '../similarity/index.js';
import { FACTORS_FORMAT, type GramId } from '../store/gram-store.js';
import type { Store } from '../store/store.js';
import type { FactorMemory, GramMemory } from './gram-memory.js';
import type { ExperimentPlan } from './plan.js';
import type { PreparedModel } from './prepare-models.js';
import type { ProgressTracker } from './progress.js';
import { AUTO_GRAM_PRECISION } from './run-inputs.js';

export interface RunEnvironment {
  store: Store;
  activations: ActivationEngine;
  activationCache: ActivationCache;
  cka: CkaEngine;
  app: { version: string; onnxruntime: string };
  /** Where the built-in probe lives (default: the repository's models/). */
  modelsDir?: string;
  /** The most examples a probe may have (default: probe/source.ts DEFAULT_MAX_PROBE_EXAMPLES). */
  maxProbeExamples?: number;
}

export interface RunHooks {
  signal: AbortSignal;
  onProgress(progress: RunProgress): void;
  /** Something the user should know that does not stop the run (a large write to the cache). */
  onWarning?(message: string): void;
}

export interface ReadyRun {
  plan: ExperimentPlan;
  tracker: ProgressTracker;
  memory: GramMemory;
  /** The layers' CCA-family factors, as `memory` holds Grams. */
  factors: FactorMemory;
}

export class RunContext {
  readonly timings: Record<string, number> = {};
  readonly work: RunWork = {
    activationsExtracted: 0,
    activationsReused: 0,
    gramsComputed: 0,
    gramsReused: 0,
    pairsComputed: 0,
    pairsReused: 0,
  };
  /** Activation files per model index (for Grams to compute and minibatch measures). */
  readonly activationFiles = new Map<number, Map<string, CachedLayer>>();
  /** The stage running now, named in the reason when the run stops. */
  stage: RunStage = 'prepare';
  private ready: ReadyRun | null = null;

  constructor(
    readonly env: RunEnvironment,
    readonly runId: string,
    readonly spec: ExperimentSpec,
    readonly hooks: RunHooks,
  ) {}

  /** Set once the models are prepared and the plan is made. */
  start(ready: ReadyRun): void {
    this.ready = ready;
  }

  get started(): boolean {
    return this.ready !== null;
  }

  get plan(): ExperimentPlan {
    return this.readyRun().plan;
  }

  get tracker(): ProgressTracker {
    return this.readyRun().tracker;
  }

  get memory(): GramMemory {
    return this.readyRun().memory;
  }

  get factors(): FactorMemory {
    return this.readyRun().factors;
  }

  private readyRun(): ReadyRun {
    if (!this.ready) throw new WorkbenchError('INTERNAL', 'the run has no plan yet');
    return this.ready;
  }

  /** Runs `work` as `stage` (what a stop reports), adding its time under `timing` (default: the stage). */
  async timed<T>(stage: RunStage, work: () => Promise<T>, timing: string = stage): Promise<T> {
    this.stage = stage;
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.timings[timing] = (this.timings[timing] ?? 0) + performance.now() - t0;
    }
  }

  checkAborted(): void {
    if (this.hooks.signal.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
  }

  /** Precision Grams are computed in: float32 for the cache's float32 activations unless the engine says otherwise. */
  get precision(): string {
    return this.env.cka.precision === 'auto' ? AUTO_GRAM_PRECISION : this.env.cka.precision;
  }

  gramIds(model: PreparedModel): GramId[] {
    return model.layers.map((l) => ({
      modelSha256: model.sha256,
      probeHash: model.probe.hash,
      tensor: l.tensor,
      reduction: l.reduction,
      precision: this.precision,
    }));
  }

  /** Cache ids of a model's layers' CCA-family factors (float64, whatever the Grams' precision). */
  factorIds(model: PreparedModel): GramId[] {
    return model.layers.map((l) => ({
      modelSha256: model.sha256,
      probeHash: model.probe.hash,
      tensor: l.tensor,
      // A layer averaged over positions has other factors than the same layer flattened.
      reduction: l.reduction,
      precision: FACTORS_FORMAT,
    }));
  }

  /** The activation files of model m's layers (found by model-work.ts before). */
  sourcesOf(m: number, indices: readonly number[]): LayerSource[] {
    const model = this.plan.models[m]!;
    const files = this.activationFiles.get(m);
    return indices.map((i) => {
      const layer = model.layers[i]!;
      const file = files?.get(layer.key);
      if (!file) throw new WorkbenchError('INTERNAL', `activations of ${layer.name} (${model.label}) are not at hand`);
      return { kind: 'npy', layer: { tensor: layer.tensor, name: layer.name }, path: file.path };
    });
  }
}
