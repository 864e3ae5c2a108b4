/**
 * The model library as the views share it: what `listModels` lists (models opened before, newest
 * first, one entry per file content, and the shipped zoo), the summaries of models read in this
 * session, and each model's layer selection (the layer table edits it; the experiment builder uses it).
 */
import { SvelteSet } from 'svelte/reactivity';
import type { ModelCalibration, ModelEntry, ModelSummary, WorkbenchApi } from '@common/contract';

export class Library {
  entries = $state.raw<ModelEntry[]>([]);
  /** Models read in this session, by path. */
  summaries = $state.raw<Record<string, ModelSummary>>({});
  /** Layer selection spec per model path (`all`, `op:Relu`, tensor names). */
  selections = $state<Record<string, string>>({});
  /**
   * How each read model's layers split into examples and their real shapes (`calibrateModel`, run
   * once per model in the background: two small batches of made-up inputs), by path.
   */
  calibrations = $state.raw<Record<string, ModelCalibration>>({});
  /** Paths being read right now. */
  readonly opening = new SvelteSet<string>();

  constructor(private readonly api: WorkbenchApi) {}

  async refresh(): Promise<void> {
    this.entries = await this.api.listModels({});
  }

  /** Reads a model (it joins the library) and keeps its summary; the promise fails with the engine's message. */
  async open(path: string): Promise<ModelSummary> {
    this.opening.add(path);
    try {
      const summary = await this.api.openModel({ path });
      this.summaries = { ...this.summaries, [summary.path]: summary };
      // The engine names a model by its resolved path: a choice made under the path as given
      // (a preset, an earlier run's spec) follows it.
      this.selections[summary.path] ??= this.selections[path] ?? 'all';
      void this.refresh().catch(() => undefined);
      void this.calibrate(summary.path);
      return summary;
    } finally {
      this.opening.delete(path);
    }
  }

  /** Takes a model off the recently opened list (every path it was opened under). */
  async forget(path: string): Promise<void> {
    await this.api.forgetModel({ path });
    await this.refresh();
  }

  /** The summary of a model, reading it first when this session has not. */
  async ensure(path: string): Promise<ModelSummary> {
    return this.summaries[path] ?? this.open(path);
  }

  /** Learns the real shapes of a model's layers (in the background; a failure only leaves them unknown). */
  private async calibrate(path: string): Promise<void> {
    if (this.calibrations[path]) return;
    try {
      const calibration = await this.api.calibrateModel({ path });
      this.calibrations = { ...this.calibrations, [path]: calibration };
    } catch {
      // The catalogue keeps the shapes the file and onnxruntime gave.
    }
  }

  selectionOf(path: string): string {
    return this.selections[path] ?? 'all';
  }
}
