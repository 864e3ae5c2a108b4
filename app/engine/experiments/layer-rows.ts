/**
 * The rule that every compared layer has the same rows: the same examples, or under `tokens` the
 * same tokens. Its own module because a compare of extracted folders checks it too, without
 * loading anything of the models' preparation (prepare-models.ts).
 */
import { WorkbenchError } from '../../common/errors.js';
import type { PlannedLayer } from '../activations/prepare.js';

/** One row count over all layers (`tokens` against per-example rows, or two tokenizations, are refused). */
export function checkRows(sides: readonly { label: string; layers: readonly PlannedLayer[] }[]): number {
  const all = sides.flatMap((s) => s.layers.map((l) => ({ side: s.label, layer: l })));
  const first = all[0]!;
  for (const { side, layer } of all) {
    if (layer.rows === first.layer.rows && layer.tokenization === first.layer.tokenization) continue;
    const describe = (s: string, l: PlannedLayer) =>
      `${s}'s ${l.name} (${l.reduction}: ${l.rows} rows${l.tokenization && l.reduction === 'tokens' ? ` of its tokens` : ''})`;
    if (layer.rows === first.layer.rows || (layer.reduction === 'tokens' && first.layer.reduction === 'tokens')) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `'tokens' compares token by token, but ${describe(first.side, first.layer)} and ${describe(side, layer)} come from different tokenizations; give both models the same tokens (same ids and masks), or reduce with mean, first or last`,
      );
    }
    throw new WorkbenchError(
      'BAD_INPUT',
      `every layer must have the same rows: ${describe(first.side, first.layer)} but ${describe(side, layer)}; 'tokens' makes a row per token, the other reductions one per example`,
    );
  }
  return first.layer.rows;
}
