/**
 * Comparing pairs of models. A pair whose results an earlier run finished (same model contents,
 * layers, probe, measure, bootstrap and precision) is read back — the same numbers, bit for bit;
 * the others of a step are compared together in one call of the CKA core (each layer's kernels
 * derived once) when their Grams fit the memory budget, pair by pair otherwise, and recorded for
 * later runs.
 */
import { isAsymmetric, measureKey, type CkaProgress, type CkaResult } from '../similarity/index.js';
import { pairKey } from '../store/pair-results.js';
import { compareFactorPairs, compareGramPairs } from './compare-pairs.js';
import type { PlannedPair } from './plan.js';
import type { RunContext } from './run-context.js';

/** Each measure's result (by its text in the spec) for one pair. */
export type PairResults = Map<string, CkaResult>;

export interface PendingPair {
  pair: PlannedPair;
  /** Estimated seconds (progress). */
  estimate: number;
}

function pairKeyOf(ctx: RunContext, pair: PlannedPair, text: string): string {
  const { plan } = ctx;
  const side = (m: number) => ({
    sha256: plan.models[m]!.sha256,
    probeHash: plan.models[m]!.probe.hash,
    tensors: plan.models[m]!.layers.map((l) => l.key),
  });
  const measure = [...plan.exact, ...plan.minibatch, ...plan.baselines].find((m) => m.text === text)!.measure;
  const bootstrap = ctx.spec.options?.bootstrap;
  return pairKey({
    probeHash: plan.models[pair.row]!.probe.hash,
    rows: side(pair.row),
    cols: side(pair.col),
    measure: measureKey(measure),
    bootstrap: bootstrap ? { samples: bootstrap.samples, seed: bootstrap.seed, level: bootstrap.level ?? 0.95 } : null,
    precision: ctx.precision,
  });
}

/**
 * Whether the pair's matrix is also stored the other way round (seeds: every ordered pair; family:
 * both off-diagonal blocks of an asymmetric measure), so an asymmetric measure needs its mirror.
 */
export function needsMirror(ctx: RunContext, pair: PlannedPair): boolean {
  return pair.mirrored || (ctx.spec.kind === 'family' && pair.row !== pair.col);
}

/** The pairs of the plan that earlier runs finished (every measure), read once at the start of the run. */
export function readEarlierPairs(ctx: RunContext): Map<PlannedPair, PairResults> {
  const earlier = new Map<PlannedPair, PairResults>();
  for (const pair of ctx.plan.steps.flatMap((s) => s.pairs)) {
    const known: PairResults = new Map();
    for (const text of ctx.spec.measures) {
      const found = ctx.env.store.pairs.get(pairKeyOf(ctx, pair, text));
      // an asymmetric measure read back without the other direction this run stores is recomputed
      if (found && (found.mirror || !isAsymmetric(found.measure) || !needsMirror(ctx, pair))) known.set(text, found);
    }
    if (known.size === ctx.spec.measures.length) earlier.set(pair, known);
  }
  return earlier;
}

/** Results of `pending` pairs: the earlier ones as they are, the others computed (and recorded). */
export async function comparePairs(
  ctx: RunContext,
  pending: readonly PendingPair[],
  earlier: ReadonlyMap<PlannedPair, PairResults>,
): Promise<Map<PlannedPair, PairResults>> {
  ctx.checkAborted();
  const results = new Map<PlannedPair, PairResults>();
  const missing: PendingPair[] = [];
  for (const item of pending) {
    const known = earlier.get(item.pair);
    if (known) {
      results.set(item.pair, known);
      ctx.work.pairsReused++;
      ctx.tracker.skip('pairs', item.estimate);
    } else {
      missing.push(item);
    }
  }
  if (missing.length > 0) {
    for (const [pair, computed] of await computePairs(ctx, missing)) {
      results.set(pair, computed);
      ctx.env.store.pairs.put([...computed].map(([text, result]) => ({ key: pairKeyOf(ctx, pair, text), result })));
      ctx.work.pairsComputed++;
    }
  }
  ctx.checkAborted();
  return results;
}

/** Bytes of the Grams of these models (what comparing them in one call holds in memory). */
function gramBytes(ctx: RunContext, models: readonly number[]): number {
  const n = ctx.plan.n;
  const perLayer = ((n * (n + 1)) / 2) * 8;
  return models.reduce((a, m) => a + ctx.plan.models[m]!.layers.length * perLayer, 0);
}

async function computePairs(ctx: RunContext, pending: readonly PendingPair[]): Promise<Map<PlannedPair, PairResults>> {
  ctx.checkAborted();
  const involved = [...new Set(pending.flatMap(({ pair }) => [pair.row, pair.col]))];
  if (pending.length > 1 && gramBytes(ctx, involved) > ctx.env.cka.memoryBudgetBytes / 2) {
    const out = new Map<PlannedPair, PairResults>();
    for (const item of pending) for (const [pair, r] of await computePairs(ctx, [item])) out.set(pair, r);
    return out;
  }
  const { plan, tracker } = ctx;
  const pairs = pending.map((p) => p.pair);
  const label = (p: PlannedPair) =>
    p.row === p.col ? plan.models[p.row]!.label : `${plan.models[p.row]!.label} × ${plan.models[p.col]!.label}`;
  const what = pairs.length === 1 ? label(pairs[0]!) : `${pairs.length} pairs`;
  tracker.start(
    'pairs',
    pending.reduce((a, p) => a + p.estimate, 0),
    { stage: 'similarity', message: `comparing ${what}` },
  );
  const bootstrap = ctx.spec.options?.bootstrap;
  const run = {
    signal: ctx.hooks.signal,
    ...(bootstrap ? { bootstrap } : {}),
    onProgress: (p: CkaProgress) => {
      const boot = p.stage === 'bootstrap';
      // A run stopped now names the stage its progress showed.
      ctx.stage = boot ? 'bootstrap' : 'similarity';
      const within = p.done / Math.max(1, p.total);
      tracker.update(boot ? 0.5 + 0.5 * within : 0.5 * within, {
        stage: boot ? 'bootstrap' : 'similarity',
        message: `${boot ? 'bootstrap intervals of' : 'comparing'} ${what}`,
      });
    },
  };
  const results = new Map(pairs.map((pair) => [pair, new Map() as PairResults]));
  if (plan.exact.length > 0) {
    const exact = await compareGramPairs(
      ctx.env.cka,
      pairs,
      plan.exact.map((m) => m.measure),
      (models) => Promise.all(models.map((m) => ctx.memory.get(ctx.gramIds(plan.models[m]!)))),
      run,
    );
    exact.forEach((perMeasure, p) => plan.exact.forEach((m, i) => results.get(pairs[p]!)!.set(m.text, perMeasure[i]!)));
  }
  if (plan.baselines.length > 0) {
    const baselines = await compareFactorPairs(
      ctx.env.cka,
      pairs,
      plan.baselines.map((m) => m.measure),
      (models) => Promise.all(models.map((m) => ctx.factors.get(ctx.factorIds(plan.models[m]!)))),
      { signal: run.signal, onProgress: run.onProgress, mirror: pairs.some((p) => needsMirror(ctx, p)) },
    );
    baselines.forEach((perMeasure, p) =>
      plan.baselines.forEach((m, i) => results.get(pairs[p]!)!.set(m.text, perMeasure[i]!)),
    );
  }
  for (const pair of pairs) {
    const all = (model: number) => plan.models[model]!.layers.map((_, i) => i);
    for (const m of plan.minibatch) {
      const rows = ctx.sourcesOf(pair.row, all(pair.row));
      const cols = pair.row === pair.col ? null : ctx.sourcesOf(pair.col, all(pair.col));
      results.get(pair)!.set(m.text, await ctx.env.cka.compareMinibatch(rows, cols, m.measure, run));
    }
  }
  tracker.finish();
  return results;
}
