/** The types the streaming compare (stream-compare.ts) and its exact part (stream-exact.ts) share. */
import type { OmittedLayer } from '../../common/contract.js';
import type { ActivationEngineOptions } from '../activations/engine.js';
import type { PlannedLayer } from '../activations/prepare.js';
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
}
