/**
 * Reductions (how a layer's activations become rows) as people write them: one name for every
 * layer (`mean`), or a default with per-layer exceptions (`{default: 'mean', layers: {'blocks.0':
 * 'first'}}`, on the command line `--reduce mean --reduce-layer blocks.0=first`). Pure, shared by
 * the engine, the command line and the views.
 */
import type { Reduction, ReduceSpec } from './contract.js';

export const REDUCTIONS: readonly Reduction[] = ['flatten', 'mean', 'first', 'last', 'tokens'];

export const DEFAULT_REDUCTION: Reduction = 'flatten';

export const REDUCTION_HELP =
  'flatten (every value, the default), mean (over tokens or spatial positions), first (token), last (valid token), tokens (every valid token a row)';

export function isReduction(value: unknown): value is Reduction {
  return typeof value === 'string' && (REDUCTIONS as readonly string[]).includes(value);
}

/** The reduction of one layer under a spec: its own entry (by tensor, then short name), else the default. */
export function reductionOf(spec: ReduceSpec | undefined, layer: { tensor: string; name: string }): Reduction {
  if (spec === undefined) return DEFAULT_REDUCTION;
  if (typeof spec === 'string') return spec;
  return spec.layers?.[layer.tensor] ?? spec.layers?.[layer.name] ?? spec.default ?? DEFAULT_REDUCTION;
}

/** A model's own spec over the run's: its per-layer entries and default win. */
export function mergeReduceSpecs(run: ReduceSpec | undefined, own: ReduceSpec | undefined): ReduceSpec | undefined {
  if (own === undefined) return run;
  if (run === undefined || typeof own === 'string') return own;
  const base = typeof run === 'string' ? { default: run } : run;
  const merged: { default?: Reduction; layers?: Record<string, Reduction> } = {
    layers: { ...base.layers, ...own.layers },
  };
  const fallback = own.default ?? base.default;
  if (fallback !== undefined) merged.default = fallback;
  return merged;
}

/** A stable text form of a spec (for cache keys of layouts): `mean`, `{"default":"mean","layers":{…}}`. */
export function reduceSpecKey(spec: ReduceSpec | undefined): string {
  if (spec === undefined) return DEFAULT_REDUCTION;
  if (typeof spec === 'string') return spec;
  const layers = Object.entries(spec.layers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ default: spec.default ?? DEFAULT_REDUCTION, layers });
}

/**
 * The spec of the command line's `--reduce R` and repeated `--reduce-layer NAME=R`; a problem is
 * returned as a sentence naming the flag.
 */
export function reduceSpecFromFlags(
  run: string | undefined,
  perLayer: readonly string[],
): { spec: ReduceSpec | undefined } | { problem: string } {
  if (run !== undefined && !isReduction(run)) {
    return { problem: `--reduce must be one of ${REDUCTIONS.join(', ')}, got '${run}'` };
  }
  if (perLayer.length === 0) return { spec: run };
  const layers: Record<string, Reduction> = {};
  for (const item of perLayer) {
    const eq = item.lastIndexOf('=');
    const name = item.slice(0, eq).trim();
    const reduction = item.slice(eq + 1).trim();
    if (eq <= 0 || name === '') return { problem: `--reduce-layer takes NAME=REDUCTION, got '${item}'` };
    if (!isReduction(reduction)) {
      return { problem: `--reduce-layer ${name}: one of ${REDUCTIONS.join(', ')}, got '${reduction}'` };
    }
    layers[name] = reduction;
  }
  return { spec: run !== undefined ? { default: run, layers } : { layers } };
}
