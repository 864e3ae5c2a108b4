/**
 * What one model must do for a run, decided once for preflight and for the run itself (so what
 * preflight counts is what the run writes): the Grams and CCA-family factors the cache lacks, the
 * layers whose activations must be at hand as files, and the wide layers whose Grams its runner
 * computes while the model runs.
 *
 * A layer wider than the probe (p > n) whose only use in this run is its Gram is not written to the
 * activation cache: its n·p activations stay in the runner process, which computes the Gram once
 * every row has come (runner/batch-grams.ts, the workers' code) and sends only its n(n+1)/2
 * values; the Gram goes to the Gram cache. Its activations are kept as files when something needs
 * the rows: a minibatch measure (all layers), a missing CCA-family factor, or a file the
 * activation cache already holds (reading it costs less than running the model).
 */
import type { GramId } from '../store/gram-store.js';
import type { RunContext } from './run-context.js';
import { MAX_IN_MEMORY_BYTES } from './stream-exact.js';

export interface ModelNeeds {
  /** Layer indices whose Grams are neither in the run's memory nor in the cache. */
  missingGrams: number[];
  /** Layer indices whose CCA-family factors are neither in the run's memory nor in the cache. */
  missingFactors: number[];
  /** Grams and factors the cache already held. */
  reused: { grams: number; factors: number };
  /** Layer indices whose activations must be at hand as files (from the cache, or extracted into it). */
  files: number[];
  /** Layer indices whose Grams the model's runner computes from its batches. */
  inRunner: number[];
}

/** The most activation bytes the runner holds for Grams at once (as stream-exact.ts holds in memory). */
export function runnerGramRoom(memoryBudgetBytes: number): number {
  return Math.min(memoryBudgetBytes / 4, MAX_IN_MEMORY_BYTES);
}

/** A layer wider than its rows (HSIC needs n ≥ 4: a smaller probe fails in the CKA engine, with its own message). */
export function isRunnerGram(layer: { rows: number; features: number }): boolean {
  return layer.features > layer.rows && layer.rows >= 4;
}

/**
 * Of the `candidates` (layer indices, in order), those whose rows the runner can hold at once
 * within `room` bytes (float32): taken in order, a layer that does not fit left to the files.
 */
export function runnerGrams(
  layers: readonly { rows: number; features: number }[],
  candidates: readonly number[],
  room: number,
): number[] {
  const chosen: number[] = [];
  for (const i of candidates) {
    const l = layers[i]!;
    const bytes = l.rows * l.features * 4;
    if (bytes > room) continue;
    room -= bytes;
    chosen.push(i);
  }
  return chosen;
}

const none = (): { missing: number[]; reused: number } => ({ missing: [], reused: 0 });

/** Of the items `ids`, the indices neither in the run's memory nor in the cache, and how many the cache holds. */
function missingOf(
  ids: readonly GramId[],
  memory: { has(id: GramId): boolean },
  store: { cached(runId: string, ids: readonly GramId[]): boolean[] },
  runId: string,
): { missing: number[]; reused: number } {
  const cached = store.cached(runId, ids);
  const missing: number[] = [];
  let reused = 0;
  ids.forEach((id, i) => {
    if (memory.has(id)) return;
    if (cached[i]) reused++;
    else missing.push(i);
  });
  return { missing, reused };
}

export async function modelNeeds(ctx: RunContext, m: number): Promise<ModelNeeds> {
  const { plan, env } = ctx;
  const model = plan.models[m]!;
  const grams = plan.needsGrams ? missingOf(ctx.gramIds(model), ctx.memory, env.store.grams, ctx.runId) : none();
  const factors = plan.needsFactors
    ? missingOf(ctx.factorIds(model), ctx.factors, env.store.factors, ctx.runId)
    : none();
  const { missing: missingGrams } = grams;
  const { missing: missingFactors } = factors;
  const reused = { grams: grams.reused, factors: factors.reused };
  if (plan.minibatch.length > 0) {
    return { missingGrams, missingFactors, reused, files: model.layers.map((_, i) => i), inRunner: [] };
  }
  const needsRows = new Set(missingFactors);
  const wide = missingGrams.filter((i) => !needsRows.has(i) && isRunnerGram(model.layers[i]!));
  const cached =
    wide.length === 0
      ? new Map()
      : await env.activationCache.lookup(
          model.sha256,
          model.probe.hash,
          model.probe.n,
          wide.map((i) => model.layers[i]!),
        );
  const inRunner = runnerGrams(
    model.layers,
    wide.filter((i) => !cached.has(model.layers[i]!.key)),
    runnerGramRoom(env.cka.memoryBudgetBytes),
  );
  const runner = new Set(inRunner);
  const files = [...new Set([...missingGrams, ...missingFactors])].filter((i) => !runner.has(i)).sort((a, b) => a - b);
  return { missingGrams, missingFactors, reused, files, inRunner };
}
