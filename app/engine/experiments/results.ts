/**
 * A run's result read back from the database: the pieces the runner wrote (header, one row per
 * matrix, the end) joined into the contract's ExperimentResult. A run that did not end normally —
 * still running, cancelled, failed, or interrupted by a crash — gives the matrices it finished,
 * marked partial (a seeds summary over those is computed here when the run never wrote one).
 */
import type { ExperimentResult } from '../../common/contract.js';
import type { RunRecord, StoredResultParts } from '../store/history.js';
import { seedsSummaries } from './seeds.js';
import { parseExperimentSpec } from './spec.js';

export function assembleResult(
  run: RunRecord,
  parts: StoredResultParts,
  app: { version: string; onnxruntime: string },
): ExperimentResult {
  const spec = parseExperimentSpec(run.spec, `stored spec of run ${run.id}`);
  const partial = parts.partial || run.status !== 'done';
  let seeds = parts.seeds;
  if (!seeds && spec.kind === 'seeds' && parts.excludedLayers) {
    seeds = seedsSummaries(parts.matrices, {
      layers: parts.models[0]?.layers.length ?? 0,
      excluded: new Set(parts.excludedLayers),
    });
  }
  const result: ExperimentResult = {
    spec,
    models: parts.models,
    probe: parts.probe,
    matrices: parts.matrices,
    partial,
    provenance: parts.provenance ?? {
      appVersion: app.version,
      onnxruntime: app.onnxruntime,
      startedAt: run.startedAt ?? run.createdAt,
      finishedAt: run.finishedAt ?? '',
      timingsMs: {},
    },
  };
  if (seeds) result.seeds = seeds;
  return result;
}
