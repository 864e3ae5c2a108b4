/** The types the streaming compare (stream-compare.ts) and its exact part (stream-exact.ts) share. */
import type { OmittedLayer } from '../../common/contract.js';
import type { ActivationEngineOptions } from '../activations/engine.js';
import type { PlannedLayer } from '../activations/prepare.js';
import type { RoomOptions } from '../io/disk-space.js';
import type { CkaEngine, CkaProgress } from '../similarity/index.js';

/** A model as this path saw it: its file, probe, layers (with their cached file when there is one). */
export interface StreamedModel {
  model: { path: string; sha256: string };
  probe: { spec: string; hash: string; n: number };
  layers: (PlannedLayer & { path?: string })[];
  omitted: OmittedLayer[];
}

export interface StreamCompareOptions {
  cka: CkaEngine;
  activations: Pick<ActivationEngineOptions, 'cacheDir' | 'modelsDir' | 'runnerOptions' | 'maxProbeExamples'>;
  signal?: AbortSignal;
  onExtractProgress?: (done: number, total: number, examplesPerSecond: number) => void;
  onCkaProgress?: (progress: CkaProgress) => void;
  /** Checks the models agree (same examples, same rows) before anything runs; throws if not. */
  check: (models: readonly StreamedModel[]) => void;
  /**
   * Called once the models are known, before the cache is looked up: the caller holds every layer's
   * cache entries from here (nothing evicts what the compare reads) and registers what it finds or
   * keeps when the compare ends, however it ends.
   */
  hold?: (models: readonly StreamedModel[]) => void;
  /** The cache's limit and warnings for what the compare writes into it (checked with the free disk). */
  room?: RoomOptions;
}
