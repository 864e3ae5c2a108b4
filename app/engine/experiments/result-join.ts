/**
 * A run's stored result parts (header, matrices, end) joined into the contract's ExperimentResult,
 * given the run's spec. Without the spec schema or the seeds code: results.ts adds those for runs
 * read back in general; repeat-api.ts joins a whole result it just copied.
 */
import type { ExperimentResult, ExperimentSpec, SeedsSummary } from '../../common/contract.js';
import type { RunRecord, StoredResultParts } from '../store/history.js';

export function joinResult(
  spec: ExperimentSpec,
  run: RunRecord,
  parts: StoredResultParts,
  app: { version: string; onnxruntime: string },
  seeds: SeedsSummary[] | null = parts.seeds,
): ExperimentResult {
  const result: ExperimentResult = {
    spec,
    models: parts.models,
    probe: parts.probe,
    matrices: parts.matrices,
    partial: parts.partial || run.status !== 'done',
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
