/**
 * A run's result read back from the database: the pieces the runner wrote (header, one row per
 * matrix, the end) joined into the contract's ExperimentResult. A run that did not end normally —
 * still running, cancelled, failed, or interrupted by a crash — gives the matrices it finished,
 * marked partial (a seeds summary over those is computed here when the run never wrote one).
 */
import type { ExperimentResult } from '../../common/contract.js';
import type { RunRecord, StoredResultParts } from '../store/history.js';
import { joinResult } from './result-join.js';
import { seedsSummaries } from './seeds.js';
import { parseExperimentSpec } from './spec.js';

export function assembleResult(
  run: RunRecord,
  parts: StoredResultParts,
  app: { version: string; onnxruntime: string },
): ExperimentResult {
  const spec = parseExperimentSpec(run.spec, `stored spec of run ${run.id}`);
  let seeds = parts.seeds;
  if (!seeds && spec.kind === 'seeds' && parts.excludedLayers) {
    seeds = seedsSummaries(parts.matrices, {
      layers: parts.models[0]?.layers.length ?? 0,
      excluded: new Set(parts.excludedLayers),
    });
  }
  return joinResult(spec, run, parts, app, seeds);
}
